"""3D from calibrated views (``multiview``) on cameras and people made by hand: exact triangulation, a wrong view
dropped, people matched across views in any order, a view out of step found, calibration files and TRC round
trips; and the real four-view clip where the shared data is present."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stdpose_infer.errors import InputError
from stdpose_infer.keypoints import POSETRACK
from stdpose_infer.multiview import Camera, read_calibration, read_trc, reconstruct, triangulate, write_trc
from stdpose_infer.multiview.associate import associate
from stdpose_infer.results import PoseResult


def _look_at(centre: np.ndarray, target=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """R, t of a camera at ``centre`` looking at ``target`` (world z up, image y down)."""
    forward = np.asarray(target) - centre
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])
    return R, -R @ centre


def _cameras() -> list[Camera]:
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    out = []
    for i, angle in enumerate(np.radians([20, 110, 200, 290])):
        R, t = _look_at(np.array([4 * np.cos(angle), 4 * np.sin(angle), 1.8]))
        out.append(Camera(f"cam{i + 1:02d}", K, np.array([0.02, -0.01, 0.001, 0.0]), R, t, (1280, 720)))
    return out


def _skeleton(x: float, y: float, who: int = 0) -> np.ndarray:
    """Person ``who``'s 17 joints (metres; a fixed random shape of a person's size) standing at (x, y)."""
    joints = np.random.default_rng(who).uniform([-0.2, -0.15, 0.1], [0.2, 0.15, 1.75], (17, 3))
    return joints + [x, y, 0.0]


def _view(cam: Camera, people: list[np.ndarray], order: list[int], frame: int = 0) -> PoseResult:
    kps = np.stack([cam.project(people[i]) for i in order])
    n = len(order)
    return PoseResult(frame, f"f/{frame}", np.tile([0.0, 0, 10, 10], (n, 1)), np.arange(n), kps,
                      np.ones((n, 17)) * POSETRACK.valid_mask, np.array(["estimated"] * n), POSETRACK, (720, 1280))


def test_triangulation_is_exact_and_drops_a_view_that_disagrees():
    cams = _cameras()
    X = _skeleton(0.1, -0.2)
    points = np.stack([c.project(X) for c in cams])
    Y, error, used = triangulate(cams, points, np.ones((4, 17)))
    np.testing.assert_allclose(Y, X, atol=1e-6)
    assert error.max() < 1e-6
    points[3, :5] += 60  # the fourth view has five joints wrong (a swapped limb)
    Y, error, used = triangulate(cams, points, np.ones((4, 17)))
    np.testing.assert_allclose(Y[:5], X[:5], atol=1e-6)
    assert not used[3, :5].any() and used[3, 5:].all() and error.max() < 1e-6
    scores = np.zeros((4, 17))
    scores[0] = 1
    assert np.isnan(triangulate(cams, points, scores)[0]).all()  # one view sees nothing in 3D


def test_people_are_matched_across_views_in_any_order():
    cams = _cameras()
    people = [_skeleton(0.8, 0.0, 1), _skeleton(-0.8, 0.3, 2), _skeleton(0.0, -0.9, 3)]
    orders = [[0, 1, 2], [2, 0, 1], [1, 2, 0], [0, 2]]  # the fourth view misses the second person
    views = [_view(c, people, o) for c, o in zip(cams, orders)]
    matches = associate(cams, [v.keypoints for v in views], [v.scores for v in views])
    assert len(matches) == 3
    for choice in matches:
        person = {orders[v][i] for v, i in enumerate(choice) if i is not None}
        assert len(person) == 1  # every view's detection is the same person
    assert sorted(sum(i is not None for i in c) for c in matches) == [3, 4, 4]


def test_a_view_out_of_step_is_found_and_put_in_step():
    cams = _cameras()
    frames = 30
    paths = [[_skeleton(0.6 * np.cos(t / 5), 0.6 * np.sin(t / 5), 1) for t in range(frames + 4)],
             [_skeleton(-0.7, 0.2 * t / frames, 2) for t in range(frames + 4)]]  # one circling, one walking slowly
    shift = 2  # the third camera started 2 frames late: its frame t shows the scene's frame t + 2
    views = []
    for v, cam in enumerate(cams):
        o = shift if v == 2 else 0
        views.append([_view(cam, [paths[0][t + o], paths[1][t + o]], [0, 1], t) for t in range(frames)])
    people = reconstruct(cams, views, max_offset=3)
    assert people.offsets == [0, 0, -shift, 0]  # view 2's frame t - 2 shows view 0's frame t
    assert len(people) == 2 and people.first_frame == shift
    circling = people.points[0] if np.nanstd(people.points[0][..., 0]) > 0.1 else people.points[1]
    truth = np.stack([paths[0][t] for t in range(shift, shift + circling.shape[0])])
    valid = POSETRACK.valid_mask
    np.testing.assert_allclose(circling[:, valid], truth[:, valid], atol=1e-5)


def _bone_spread(points: np.ndarray) -> np.ndarray:
    """The standard deviation of each rigid bone's length over (T, J, 3) points (metres)."""
    from stdpose_infer.multiview.refine import rigid_bones

    return np.array([np.nanstd(np.linalg.norm(points[:, a] - points[:, b], axis=1)) for a, b in rigid_bones(POSETRACK)])


def test_the_fit_follows_a_noisy_person_closer_than_each_frame_and_keeps_bones():
    """2D with 4 px noise and, on a fifth of the frames, one view's knee 80 px off: the fitted path lies closer to
    the truth than each frame's triangulation, every bone's length varies less, and a joint no two views saw stays
    NaN."""
    pytest.importorskip("scipy")
    cams, rng, frames = _cameras(), np.random.default_rng(3), 40
    truth = [_skeleton(0.8 * np.cos(t / 12), 0.8 * np.sin(t / 12), 1) for t in range(frames)]
    views = []
    for v, cam in enumerate(cams):
        per_frame = []
        for t in range(frames):
            result = _view(cam, [truth[t]], [0], t)
            result.keypoints = result.keypoints + rng.normal(0, 4.0, result.keypoints.shape)
            if t % 5 == v:
                result.keypoints[0, 13] += 80.0  # left knee
            if t == 20 and v > 0:
                result.scores[0, 9] = 0.0  # left wrist: one view only on frame 20
            per_frame.append(result)
        views.append(per_frame)
    raw = reconstruct(cams, views, max_offset=0)
    fitted = reconstruct(cams, views, max_offset=0, fps=30.0)
    assert len(raw) == len(fitted) == 1
    valid = POSETRACK.valid_mask
    want = np.stack(truth)[:, valid]
    error_raw = np.nanmean(np.linalg.norm(raw.points[0][:, valid] - want, axis=-1))
    error_fit = np.nanmean(np.linalg.norm(fitted.points[0][:, valid] - want, axis=-1))
    assert error_fit < 0.95 * error_raw
    assert (_bone_spread(fitted.points[0]) < 0.8 * _bone_spread(raw.points[0])).all()
    assert np.isnan(raw.points[0, 20, 9]).all() and np.isnan(fitted.points[0, 20, 9]).all()
    assert np.isfinite(fitted.errors[0][:, valid]).mean() > 0.95


def test_a_double_detection_is_one_person_and_a_lost_person_keeps_their_track():
    """A 2D detector's double box makes two matches of one person: one 3D person. A person missing from every
    view for a few frames comes back as the same track."""
    cams, frames = _cameras(), 12
    walker = [_skeleton(-0.6 + 0.05 * t, 0.0, 1) for t in range(frames)]
    other = _skeleton(0.9, 0.6, 2)
    views = []
    for cam in cams:
        per_frame = []
        for t in range(frames):
            people = [walker[t], walker[t] + 0.01, other] if t < 4 else [other] if t < 7 else [walker[t], other]
            per_frame.append(_view(cam, people, list(range(len(people))), t))
        views.append(per_frame)
    people = reconstruct(cams, views, max_offset=0)
    assert len(people) == 2
    seen = np.isfinite(people.points[..., 5, 0])
    walking = int(np.argmax(np.nanstd(people.points[..., 5, 0], axis=1)))
    assert seen[walking].tolist() == [True] * 4 + [False] * 3 + [True] * 5
    assert seen[1 - walking].all()


def test_a_view_that_sees_a_person_elsewhere_all_along_is_left_out():
    """One camera sees one of two people 30 px to the side on every frame (on the real four-view clip: the
    rendered person in one view): that person is triangulated from the other three views, the other person from
    all four."""
    cams, frames = _cameras(), 6
    people_3d = [_skeleton(0.5, 0.0, 1), _skeleton(-0.6, 0.4, 2)]
    views = []
    for v, cam in enumerate(cams):
        per_frame = []
        for t in range(frames):
            result = _view(cam, people_3d, [0, 1], t)
            if v == 2:
                result.keypoints[0] += [30.0, 0.0]
            per_frame.append(result)
        views.append(per_frame)
    people = reconstruct(cams, views, max_offset=0)
    valid = POSETRACK.valid_mask
    first = int(np.argmin([np.nanmean(np.abs(p[0, valid] - people_3d[0][valid])) for p in people.points]))
    assert (people.views[first][:, 2] == -1).all() and (people.views[1 - first] >= 0).all()
    np.testing.assert_allclose(people.points[first][:, valid], np.broadcast_to(people_3d[0][valid], (frames, valid.sum(), 3)),
                               atol=1e-6)  # fmt: skip
    assert np.nanmax(people.errors[first][:, valid]) < 1e-3


def _facing(x: float, y: float, who: int) -> np.ndarray:
    """A ``_skeleton`` with a body: shoulders and hips across it, the nose in front (facing +x, its left at +y)."""
    X = _skeleton(x, y, who)
    X[[5, 6, 11, 12, 0]] = np.array([[0, 0.2, 1.45], [0, -0.2, 1.45], [0, 0.12, 0.95], [0, -0.12, 0.95], [0.1, 0, 1.62]]) + [x, y, 0]
    return X


@pytest.mark.parametrize("mirrored", [[2], [1, 3]])
def test_a_person_seen_mirrored_in_some_views_is_put_right(mirrored):
    """A 2D model that takes the person's left for the right in one view, or in two of four (a tie: the nose in
    front of the body decides): the 3D has the left joints on the left. (Mirrored in most views, the 3D is
    mirrored too: the views' majority is taken.)"""
    cams = _cameras()
    X = _facing(0.2, 0.1, 1)
    views = []
    for v, cam in enumerate(cams):
        result = _view(cam, [X], [0])
        if v in mirrored:
            result.keypoints = result.keypoints[:, POSETRACK.flip_permutation]
        views.append([result])
    people = reconstruct(cams, views, max_offset=0)
    valid = POSETRACK.valid_mask
    np.testing.assert_allclose(people.points[0, 0, valid], X[valid], atol=1e-6)


def test_3d_people_as_one_tidy_table(tmp_path):
    """A row per person, frame and joint, the points as triangulated, written to CSV and read back by pandas."""
    pd = pytest.importorskip("pandas")
    cams = _cameras()
    people_3d = [_skeleton(0.5, 0.0, 1), _skeleton(-0.6, 0.4, 2)]
    views = [[_view(cam, people_3d, [0, 1], t) for t in range(4)] for cam in cams]
    people = reconstruct(cams, views, max_offset=0)
    table = people.to_frame(fps=50.0)
    valid = POSETRACK.valid_mask
    assert len(table) == len(people) * 4 * valid.sum()
    assert list(table.columns) == ["frame", "time_s", "person", "joint", "x", "y", "z", "reprojection_error_px", "views"]
    row = table[(table.person == 1) & (table.frame == 2) & (table.joint == "left_knee")].iloc[0]
    k = POSETRACK.keypoints.index("left_knee")
    np.testing.assert_allclose(row[["x", "y", "z"]].to_numpy(float), people.points[0, 2, k], atol=1e-9)
    assert row.time_s == pytest.approx(0.04) and row.views == 4 and row.reprojection_error_px < 1e-3
    table.to_csv(tmp_path / "p.csv", index=False)
    back = pd.read_csv(tmp_path / "p.csv")
    np.testing.assert_allclose(back[["x", "y", "z"]].to_numpy(), table[["x", "y", "z"]].to_numpy())


def test_3d_people_plotted(tmp_path):
    """A picture of the 3D people: skeletons, paths from above, bone lengths; a plot of no one is refused."""
    pytest.importorskip("matplotlib")
    from stdpose_infer.multiview.plot import plot_people3d

    cams = _cameras()
    views = [[_view(cam, [_skeleton(0.1 * t, 0.0, 1), _skeleton(-0.6, 0.4, 2)], [0, 1], t) for t in range(5)] for cam in cams]
    people = reconstruct(cams, views, max_offset=0)
    path = plot_people3d(people, tmp_path / "p.png", fps=25.0)
    assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 10_000
    with pytest.raises(InputError, match="nothing to plot"):
        plot_people3d(people.subset([]), tmp_path / "none.png")
    with pytest.raises(InputError, match=r"\.png"):
        plot_people3d(people, tmp_path / "p.gif")


def test_calibration_files_and_trc_round_trip(tmp_path):
    import cv2

    cams = _cameras()
    toml = ["[metadata]", "adjusted = false", ""]
    for c in cams:
        rvec = cv2.Rodrigues(c.R)[0].ravel().tolist()
        toml += [f"[{c.name}]", f'name = "{c.name}"', f"size = {list(c.size)}", f"matrix = {c.K.tolist()}",
                 f"distortions = {c.dist.tolist()}", f"rotation = {rvec}", f"translation = {c.t.tolist()}",
                 "fisheye = false", ""]  # fmt: skip
    (tmp_path / "Calib.toml").write_text("\n".join(toml))
    doc = [{"name": c.name, "K": c.K.tolist(), "dist": c.dist.tolist(), "R": c.R.tolist(), "t": c.t.tolist()}
           for c in cams]  # fmt: skip
    (tmp_path / "cams.json").write_text(json.dumps(doc))
    panoptic = {"calibDataSource": "made here", "cameras": [  # CMU Panoptic's layout: t in centimetres, 5 dist terms
        {"name": c.name, "type": "hd", "resolution": list(c.size), "K": c.K.tolist(), "distCoef": [*c.dist, 0.0],
         "R": c.R.tolist(), "t": (c.t[:, None] * 100).tolist()} for c in cams]}  # fmt: skip
    (tmp_path / "calibration_panoptic.json").write_text(json.dumps(panoptic))
    X = _skeleton(0.0, 0.0)
    for name in ("Calib.toml", "cams.json", "calibration_panoptic.json"):
        read = read_calibration(tmp_path / name)
        assert [c.name for c in read] == [c.name for c in cams]
        for a, b in zip(read, cams):
            np.testing.assert_allclose(a.project(X), b.project(X), atol=1e-6)
    with pytest.raises(InputError, match="calibration"):
        read_calibration(tmp_path / "missing.toml")
    points = np.where(np.arange(5)[:, None, None] == 2, np.nan, np.arange(5 * 3 * 3).reshape(5, 3, 3) / 10)
    path = write_trc(tmp_path / "p.trc", points, ["LHip", "RHip", "RKnee"], 60)
    names, back, fps = read_trc(path)
    assert names == ["LHip", "RHip", "RKnee"] and fps == 60
    np.testing.assert_allclose(back, points, atol=1e-6)  # NaN where empty, in place
    assert path.read_text().splitlines()[2].split("\t")[4] == "m"


def test_the_real_four_view_calibration_reads_as_pose2sim_converts_it():
    """The shared four-view clip's Qualisys calibration: the world origin (a corner of the platform) and a point
    1 m above it land inside every view, the point above higher in the image (z up). The 3D of the clip itself is
    measured in benchmarks/triangulation.py (its 2D takes minutes)."""
    from conftest import shared_data

    path = shared_data("real_videos", "pose2sim_multiperson", "calibration", "Calib.qca.txt")
    cams = read_calibration(path)
    assert [c.name for c in cams] == ["cam01", "cam02", "cam03", "cam04"] and cams[0].size == (1088, 1920)
    for c in cams:
        floor, above = c.project(np.array([0.0, 0, 0])), c.project(np.array([0.0, 0, 1]))
        assert 0 < floor[0] < 1088 and 0 < floor[1] < 1920 and above[1] < floor[1]


def test_cli_refuses_videos_that_do_not_match_the_cameras(tmp_path, capsys):
    from stdpose_infer.cli.main import main

    doc = [{"name": c.name, "K": c.K.tolist(), "dist": c.dist.tolist(), "R": c.R.tolist(), "t": c.t.tolist()}
           for c in _cameras()]  # fmt: skip
    (tmp_path / "cams.json").write_text(json.dumps(doc))
    code = main(["triangulate", "a.mp4", "b.mp4", "--calibration", str(tmp_path / "cams.json"), "--out",
                 str(tmp_path / "p.trc")])  # fmt: skip
    assert code == 2 and "2 videos for the 4 cameras" in capsys.readouterr().err


def test_videos_named_as_cameras_pick_theirs_from_a_larger_calibration():
    from stdpose_infer.cli.triangulate import _order

    cams = _cameras()
    filmed, videos = _order(["x/CAM04.mp4", "x/cam02"], cams, "cams.json")  # a video and an image folder
    assert [c.name for c in filmed] == ["cam02", "cam04"] and videos == ["x/cam02", "x/CAM04.mp4"]
    with pytest.raises(InputError, match="two or more"):
        _order(["cam03.mp4"], cams, "cams.json")
