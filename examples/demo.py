"""The demo (`make demo`): the main job on a short real clip, with the shipped starter model and detector.

The clip is 40 frames (150-189) of Sports2D's demo video (BSD-3-Clause, David Pagnon; the licence is written beside
the clip). It is fetched once from PyPI, in the sports2d wheel, into a cache outside the repository (this
repository ships no videos), and cut there. The starter model never trained on these frames.

    python examples/demo.py [--out demo_out] [--cache ~/.cache/stdpose-infer]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "sports2d==0.8.34"  # its Sports2D/Demo/demo.mp4: 1280x720, 30 fps, two people
FIRST, LAST = 150, 190


def fetch_clip(cache: Path) -> Path:
    """The demo clip in ``cache``, downloaded and cut on the first call."""
    from stdpose_infer.video import VideoWriter, read_frames, video_fps

    clip = cache / "sports2d_demo_150-189.mp4"
    if clip.is_file():
        return clip
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"fetching the demo video once (pip download {WHEEL}, about 9 MB) into {cache}")
        done = subprocess.run([sys.executable, "-m", "pip", "download", WHEEL, "--no-deps", "-q", "-d", tmp],
                              capture_output=True, text=True)  # fmt: skip
        wheels = list(Path(tmp).glob("sports2d-*.whl"))
        if done.returncode or not wheels:
            sys.exit(f"could not download {WHEEL} from the package index ({done.stderr.strip()[-300:]}); the demo "
                     "needs it once: check the network, or run the main job on a video of yours: "
                     "stdpose-infer run VIDEO.mp4 --json out.json --video-out overlay.mp4")  # fmt: skip
        with zipfile.ZipFile(wheels[0]) as z:
            video = z.extract("Sports2D/Demo/demo.mp4", tmp)
            licence = next(n for n in z.namelist() if n.endswith("licenses/LICENSE"))
            (cache / "SPORTS2D_LICENSE.txt").write_bytes(z.read(licence))
        part = clip.with_suffix(".part.mp4")
        with VideoWriter(part, video_fps(video)) as writer:
            for frame in read_frames(video):
                if frame.index >= FIRST:
                    writer.write(frame.image)
                if frame.index == LAST - 1:
                    break
            else:
                sys.exit(f"{WHEEL}'s demo video has fewer than {LAST} frames: the demo expects 0.8.34's")
        os.replace(part, clip)
    return clip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("demo_out"))
    p.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                   / "stdpose-infer")  # fmt: skip
    args = p.parse_args()
    clip = fetch_clip(args.cache)
    out = args.out
    command = ["run", str(clip), "--json", str(out / "poses.json"), "--video-out", str(out / "overlay.mp4"),
               "--contact-sheet", str(out / "contact_sheet.png")]  # fmt: skip
    print("stdpose-infer " + " ".join(command))
    from stdpose_infer.cli.main import main as cli

    code = cli(command)
    if code:
        sys.exit(code)
    print(f"\ndemo done: {out / 'poses.json'} (PoseTrack18 JSON), {out / 'overlay.mp4'} (overlay video), "
          f"{out / 'contact_sheet.png'} (six overlay frames at a glance)\nclip: {clip} (Sports2D demo video, "
          f"BSD-3-Clause: {args.cache / 'SPORTS2D_LICENSE.txt'})")  # fmt: skip


if __name__ == "__main__":
    main()
