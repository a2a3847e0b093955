"""Kinematics (``analytics``) on poses made by hand: known angles to 0.1 degree, speeds in px/s and m/s, NaN where
a joint is missing, no 360-degree jumps, and the plot."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pandas")
pytest.importorskip("scipy")

from stdpose_infer import kinematics, plot_angles  # noqa: E402
from stdpose_infer.analytics.angles import ANGLES, angle_degrees  # noqa: E402
from stdpose_infer.errors import InputError  # noqa: E402
from stdpose_infer.keypoints import POSETRACK  # noqa: E402
from stdpose_infer.results import PoseResult  # noqa: E402

FPS = 30.0
J = {name: i for i, name in enumerate(POSETRACK.keypoints)}


def _pose(knee: float = 90.0, elbow: float = 45.0, dx: float = 0.0) -> np.ndarray:
    """A person facing right (image x to the right, y down): trunk upright, right thigh straight down, the right
    shank bent back by ``knee`` degrees, the right upper arm straight down, the forearm raised forward by
    ``elbow``; the left side mirrors the right. Shifted ``dx`` px to the right."""
    kp = np.zeros((17, 2))
    k, e = np.radians(knee), np.radians(elbow)
    hip, shoulder = np.array([300.0, 400.0]), np.array([300.0, 250.0])
    knee_xy, elbow_xy = hip + [0, 100], shoulder + [0, 80]
    ankle = knee_xy + 100 * np.array([-np.sin(k), np.cos(k)])  # flexion swings the ankle backwards (left)
    wrist = elbow_xy + 70 * np.array([np.sin(e), np.cos(e)])  # flexion swings the wrist forwards (right)
    for side in ("left", "right"):
        kp[J[f"{side}_hip"]], kp[J[f"{side}_knee"]], kp[J[f"{side}_ankle"]] = hip, knee_xy, ankle
        kp[J[f"{side}_shoulder"]], kp[J[f"{side}_elbow"]], kp[J[f"{side}_wrist"]] = shoulder, elbow_xy, wrist
    kp[J["nose"]], kp[J["head_bottom"]], kp[J["head_top"]] = [310, 210], [300, 230], [300, 170]
    return kp + [dx, 0.0]


def _results(poses: list[np.ndarray], scores: list[np.ndarray] | None = None, track: int = 3) -> list[PoseResult]:
    out = []
    for t, kp in enumerate(poses):
        s = np.ones(17) if scores is None else scores[t]
        out.append(PoseResult(t, f"f/{t}", np.array([[200.0, 150.0, 400.0, 620.0]]), np.array([track]), kp[None],
                              (s * POSETRACK.valid_mask)[None], np.array(["estimated"]), POSETRACK, (720, 1280)))
    return out


@pytest.mark.parametrize("knee, elbow", [(0.0, 0.0), (90.0, 45.0), (37.5, 120.0), (150.0, 10.0)])
def test_hand_made_poses_give_their_angles(knee, elbow):
    table = kinematics(_results([_pose(knee, elbow)] * 20), FPS, cutoff_hz=0)
    row = table.iloc[10]
    assert row["right_knee_deg"] == pytest.approx(knee, abs=0.1)
    assert row["left_knee_deg"] == pytest.approx(knee, abs=0.1)
    assert row["right_elbow_deg"] == pytest.approx(elbow, abs=0.1)
    assert row["right_hip_deg"] == pytest.approx(0.0, abs=0.1)  # thigh along the trunk
    assert row["right_shoulder_deg"] == pytest.approx(0.0, abs=0.1)  # arm along the trunk
    assert row["trunk_deg"] == pytest.approx(90.0, abs=0.1)  # upright
    assert row["right_thigh_deg"] == pytest.approx(-90.0, abs=0.1)  # Sports2D: knee -> hip... pointing down
    assert row["right_knee_deg_s"] == pytest.approx(0.0, abs=1e-6)


def test_segment_and_joint_formula_signs():
    shank = ANGLES["right_shank"]
    ankle, knee = np.array([[0.0, 0.0]]), np.array([[-10.0, -10.0]])  # the ankle 45 degrees below-right of the knee
    assert angle_degrees(shank, [ankle, knee])[0] == pytest.approx(-45.0)
    assert ANGLES["pelvis"].half_turn and not ANGLES["trunk"].half_turn


def test_speeds_in_pixels_and_metres_and_angular_velocity():
    poses = [_pose(knee=30 + 3 * t, dx=4.0 * t) for t in range(30)]  # 120 px/s to the right, the knee 90 deg/s
    poses = _results(poses)
    table = kinematics(poses, FPS, cutoff_hz=0)
    mid = table.iloc[15]
    assert mid["right_hip_speed_px_s"] == pytest.approx(120.0, rel=1e-6)
    assert mid["right_knee_deg_s"] == pytest.approx(90.0, rel=1e-3)
    scaled = kinematics(poses, FPS, cutoff_hz=0, metres_per_pixel=0.01)
    assert scaled.iloc[15]["right_hip_speed_m_s"] == pytest.approx(1.2, rel=1e-6)
    # height from the skeleton: shank 100 + thigh 100 + trunk 150 + neck to head top 80 = 430 px for 1.72 m
    tall = kinematics(poses, FPS, cutoff_hz=0, height_m=1.72)
    assert tall.iloc[15]["right_hip_speed_m_s"] == pytest.approx(120 * 1.72 / 430, rel=1e-3)
    smoothed = kinematics(poses, FPS)  # a steady motion passes the low-pass unchanged
    assert smoothed.iloc[15]["right_hip_speed_px_s"] == pytest.approx(120.0, rel=1e-3)


def test_missing_joints_and_frames_give_nan_never_values():
    poses = [_pose() for _ in range(20)]
    scores = [np.ones(17) for _ in range(20)]
    scores[5][J["right_ankle"]] = 0.1  # under the threshold: the right knee angle there is unknown
    results = _results(poses, scores)
    del results[12]  # the person missing on frame 12
    table = kinematics(results, FPS)
    assert len(table) == 19 and 12 not in set(table["frame"])
    row5 = table[table["frame"] == 5].iloc[0]
    assert np.isnan(row5["right_knee_deg"]) and np.isnan(row5["right_ankle_speed_px_s"])
    assert row5["left_knee_deg"] == pytest.approx(90.0, abs=0.1)
    near = table[table["frame"].isin([11, 13])]
    assert near["right_hip_speed_px_s"].notna().all()  # one-sided differences at the gap's edges
    assert "right_ankle_deg" not in table  # needs toe and heel keypoints, which this format lacks


def test_angles_unwrap_instead_of_jumping_by_a_turn():
    # the forearm turns steadily past straight up: its segment angle crosses +-180 degrees
    poses = []
    for t in range(40):
        kp = _pose()
        a = np.radians(150 + 2 * t)  # 150 -> 228 degrees, counter-clockwise as a viewer sees it
        kp[J["right_wrist"]] = kp[J["right_elbow"]] + 70 * np.array([np.cos(a), -np.sin(a)])
        poses.append(kp)
    column = kinematics(_results(poses), FPS, cutoff_hz=0)["right_forearm_deg"].to_numpy()
    assert np.abs(np.diff(column)).max() < 2.5
    assert column[-1] - column[0] == pytest.approx(78.0, abs=0.1)


def test_bad_input_says_what_to_give(tmp_path):
    with pytest.raises(InputError, match="frame rate"):
        kinematics(_results([_pose()] * 3), 0)
    with pytest.raises(InputError, match="one scale"):
        kinematics(_results([_pose()] * 3), FPS, metres_per_pixel=0.01, height_m=1.8)
    with pytest.raises(InputError, match="no results"):
        kinematics([], FPS)


def test_plot_angles_draws_a_png(tmp_path):
    table = kinematics(_results([_pose(knee=30 + t) for t in range(20)]), FPS)
    path = plot_angles(table, tmp_path / "angles.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(InputError, match="no rows for tracks"):
        plot_angles(table, tmp_path / "none.png", tracks=[99])


def test_cli_writes_kinematics_and_the_angle_plot(tmp_path, tiny):
    import pandas as pd
    from conftest import run_command, shared_data

    clip = shared_data("posetrack18_sample", "videos", "000001_mpiinew_test", "000001_mpiinew_test.mp4")
    code = run_command(tiny, tmp_path, clip, "--kinematics", str(tmp_path / "k.csv"), "--plot-angles",
                       str(tmp_path / "a.png"))  # fmt: skip
    assert code == 0
    table = pd.read_csv(tmp_path / "k.csv")
    assert {"frame", "time_s", "track", "right_knee_deg", "right_knee_deg_s", "nose_speed_px_s"} <= set(table)
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_refuses_a_bad_kinematics_name_before_running(tmp_path, capsys):
    from stdpose_infer.cli.main import main

    code = main(["run", str(tmp_path / "missing.mp4"), "--kinematics", str(tmp_path / "k.xlsx")])
    assert code != 0
    assert ".csv or .parquet" in capsys.readouterr().err


def test_a_front_view_gives_both_sides_the_same_sign():
    # jumping jacks seen from the front: the arms raised sideways, mirror images of each other
    kp = _pose()
    shoulder_r, shoulder_l = np.array([270.0, 250.0]), np.array([330.0, 250.0])
    kp[J["right_shoulder"]], kp[J["left_shoulder"]] = shoulder_r, shoulder_l
    kp[J["right_elbow"]], kp[J["left_elbow"]] = shoulder_r + [-80, 0], shoulder_l + [80, 0]
    as_seen = kinematics(_results([kp] * 10), FPS, cutoff_hz=0).iloc[5]
    front = kinematics(_results([kp] * 10), FPS, cutoff_hz=0, visible_side="front").iloc[5]
    assert as_seen["right_shoulder_deg"] == pytest.approx(-as_seen["left_shoulder_deg"], abs=0.1)
    assert front["right_shoulder_deg"] == pytest.approx(front["left_shoulder_deg"], abs=0.1)
    assert abs(front["right_shoulder_deg"]) == pytest.approx(90.0, abs=0.1)  # the arm at right angles to the trunk
    with pytest.raises(InputError, match="visible_side"):
        kinematics(_results([kp] * 3), FPS, visible_side="top")
