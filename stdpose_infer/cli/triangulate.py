"""``stdpose-infer triangulate``: the videos of several calibrated cameras -> 3D poses per person (TRC, JSON)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..errors import InputError


def add_command(sub) -> None:
    p = sub.add_parser("triangulate", help="3D poses from several calibrated views: one TRC per person (and JSON)")
    p.add_argument("videos", nargs="+", help="one video (or image folder) per camera, in the calibration's order, or "
                   "each named as its camera (e.g. cam01.mp4): then any of the calibration's cameras")  # fmt: skip
    p.add_argument("--calibration", required=True, help="Qualisys .qca.txt or Calib.toml (Pose2Sim), CMU Panoptic's "
                   "JSON, or OpenCV YAML/JSON (K, dist, R or rvec, t per camera)")  # fmt: skip
    p.add_argument("--out", required=True, help="poses3d.trc (one file per person: NAME.trc, NAME_2.trc, ...), "
                   "poses3d.json (every person, with per-joint reprojection errors) or a table, poses3d.csv or "
                   ".parquet (a row per person, frame and joint)")  # fmt: skip
    p.add_argument("--json", help="also the JSON (every person's joints, reprojection errors, views used, offsets)")
    p.add_argument("--plot", help="also a picture, .png (or .pdf, .svg): the people's skeletons at a few moments, "
                   "their paths from above, their bone lengths over time")  # fmt: skip
    p.add_argument("--weights", help="STDPose .safetensors checkpoint (default: the shipped starter model)")
    p.add_argument("--detector", default="default", help="as for run")
    p.add_argument("--max-offset", type=int, default=3, help="look for a constant frame offset between views up to "
                   "this many frames (0: the views are in step)")  # fmt: skip
    p.add_argument("--fps", type=float, help="frame rate for the TRC and the fit (default: the first video's)")
    p.add_argument("--no-fit", dest="fit", action="store_false", help="each frame's triangulation as it is, instead "
                   "of each person's path fitted over the clip (smooth, bones of one length)")  # fmt: skip
    p.add_argument("--no-flip-test", dest="flip_test", action="store_false", help="2D from each crop alone (half "
                   "the model time) instead of each crop and its mirror")  # fmt: skip
    p.add_argument("--min-frames", type=int, default=10, help="people seen in 3D on fewer frames are not written "
                   "(chance matches of two views)")  # fmt: skip
    p.set_defaults(func=_triangulate)


def _order(videos: list[str], cameras, calibration: str) -> tuple[list, list[str]]:
    """The cameras filmed and their videos, in the calibration's order: by name where every video is named as a
    camera (a calibration may hold more cameras than were filmed), else one video per camera as given."""
    names = {Path(v).stem.lower(): v for v in videos}
    if len(names) == len(videos) and set(names) <= {c.name.lower() for c in cameras}:
        filmed = [c for c in cameras if c.name.lower() in names]
        if len(filmed) < 2:
            raise InputError(f"{len(filmed)} video for the cameras of {calibration}: triangulation needs two or more")
        return filmed, [names[c.name.lower()] for c in filmed]
    if len(videos) != len(cameras):
        raise InputError(f"{len(videos)} videos for the {len(cameras)} cameras of {calibration}: give one video per "
                         f"camera in its order, or name each video as its camera ({', '.join(c.name for c in cameras[:6])}"
                         f"{', ...' if len(cameras) > 6 else ''})")  # fmt: skip
    return cameras, videos


def _triangulate(args: argparse.Namespace) -> None:
    from ..multiview import marker_names, read_calibration, reconstruct, write_trc
    from ..pipeline import Pipeline
    from ..progress import progress
    from ..video import video_fps

    cameras, videos = _order(args.videos, read_calibration(args.calibration), args.calibration)
    out = Path(args.out)
    if out.suffix.lower() not in (".trc", ".json", ".csv", ".parquet"):
        raise InputError(f"{out}: --out is a .trc, .json, .csv or .parquet file")
    if args.plot and Path(args.plot).suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError(f"{args.plot}: --plot is a .png, .pdf or .svg file")
    pipe = Pipeline(args.weights, detector=args.detector, flip_test=args.flip_test)
    views = []
    for cam, video in zip(cameras, videos):
        views.append(list(progress(pipe(video), desc=f"2D {cam.name}", unit="frame")))
    fps = args.fps or video_fps(videos[0])
    people = reconstruct(cameras, views, args.max_offset, fps=fps, fit=args.fit)
    valid = people.keypoint_format.valid_mask
    seen = np.isfinite(people.points[..., valid, :]).all(-1).any(-1).sum(1)  # frames per person
    keep = np.flatnonzero(seen >= args.min_frames)
    print(f"views: {', '.join(f'{c.name} <- {Path(v).name}' for c, v in zip(cameras, videos))}")
    print("frame offsets against the first view: " + ", ".join(f"{c.name} {o:+d}" for c, o in zip(cameras, people.offsets)))
    names = marker_names(people.keypoint_format)
    written = []
    frames = max(len(v) for v in views)
    if out.suffix.lower() == ".trc":
        for n, k in enumerate(keep):
            path = out if n == 0 else out.with_name(f"{out.stem}_{n + 1}{out.suffix}")
            written.append(str(write_trc(path, people.marker_rows(k, frames), names, fps)))
    if out.suffix.lower() in (".csv", ".parquet"):
        table = people.to_frame(fps, keep, names)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            table.to_csv(out, index=False)
        else:
            table.to_parquet(out, index=False)
        written.append(str(out))
    json_path = out if out.suffix.lower() == ".json" else (Path(args.json) if args.json else None)
    if json_path is not None:
        written.append(str(_write_json(json_path, people, names, fps, cameras, keep)))
    if args.plot:
        from ..multiview.plot import plot_people3d

        keep_people = people.subset(keep)
        written.append(str(plot_people3d(keep_people, args.plot, fps)) if len(keep_people) else
                       "no plot (no person seen on --min-frames frames)")  # fmt: skip
    errors = people.errors[..., valid]
    for n, k in enumerate(keep):
        print(f"person {n + 1}: {seen[k]} frames, median reprojection error {np.nanmedian(errors[k]):.1f} px")
    if len(keep) < len(people):
        print(f"{len(people) - len(keep)} more seen on under {args.min_frames} frames, not written (--min-frames)")
    print("wrote " + (", ".join(written) or "nothing (no person seen by two views)"))


def _write_json(path: Path, people, names: list[str], fps: float, cameras, keep) -> Path:
    valid = people.keypoint_format.valid_mask

    def listed(a: np.ndarray):
        return np.where(np.isfinite(a), np.round(a, 5), None).tolist()

    doc = {"fps": fps, "units": "m", "markers": names, "cameras": [c.name for c in cameras],
           "frame_offsets": dict(zip((c.name for c in cameras), people.offsets)), "first_frame": people.first_frame,
           "people": [{"points": listed(people.points[k][:, valid]), "reprojection_error_px": listed(people.errors[k][:, valid]),
                       "views": people.views[k].tolist()} for k in keep]}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path
