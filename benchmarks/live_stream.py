"""Live sources at real time: a 720p, 30 frames/s stream served on 127.0.0.1 by FFmpeg (MPEG-TS over HTTP, paced
at the clip's own rate), read by ``LiveSource`` and run through ``Pipeline()`` (the shipped model and detector):
frames received, processed and dropped, and the latency from a frame's capture to its pose.

    python benchmarks/live_stream.py --video DATA/real_videos/sports2d/demo.mp4 --out OUT

The clip is scaled to 1280 x 720 at 30 frames/s and served ``--loops`` times in a row (the Sports2D clip: 7.7 s, 1-3
people). ``Pipeline`` warms its backend up before a live source's first frame (``Pipeline.warm_up``).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, save_results  # noqa: E402

from stdpose_infer import LiveSource, Pipeline  # noqa: E402


def serve(video: Path, port: int, width: int, height: int, fps: int, loops: int = 1) -> subprocess.Popen:
    import imageio_ffmpeg

    return subprocess.Popen(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", str(loops - 1), "-i", str(video), "-vf",
         f"scale={width}:{height},fps={fps}", "-c:v", "mpeg2video", "-q:v", "3", "-an", "-f", "mpegts", "-listen",
         "1", f"http://127.0.0.1:{port}/live.ts"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--video", type=Path, required=True)
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--loops", type=int, default=1, help="serve the clip this many times in a row (more samples)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    pipe = Pipeline()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = serve(args.video, port, args.width, args.height, args.fps, args.loops)
    try:
        for _ in range(100):  # until the server listens
            try:
                live = LiveSource(f"http://127.0.0.1:{port}/live.ts")
                break
            except Exception:
                time.sleep(0.1)
        start = time.monotonic()
        latencies, people = [], 0
        with live:
            for result in pipe(live):
                latencies.append(live.latency(result.frame_index))
                people += len(result)
        seconds = time.monotonic() - start
    finally:
        server.kill()
        server.wait()
    late = np.array([x for x in latencies if x is not None])
    result = {
        "date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": "python " + " ".join(sys.argv),
        "stream": f"{args.width}x{args.height} at {args.fps} frames/s, {args.video.name}" + (f", served {args.loops} times in a row" if args.loops > 1 else ""), "seconds": round(seconds, 1),
        "received": live.received, "processed": live.yielded, "dropped": live.dropped,
        "processed_share": round(live.yielded / max(live.received, 1), 3), "poses": people,
        "latency_s": {"median": round(float(np.median(late)), 3), "p95": round(float(np.percentile(late, 95)), 3),
                      "max": round(float(late.max()), 3)},
        "model": pipe.model_source, "backend": str(pipe.backend.info).split(",")[0],
    }  # fmt: skip
    md = "\n".join([
        "# Live stream at real time", "",
        f"{result['date']}; {result['machine']}. Command: `{result['command']}`.", "",
        f"Stream: {result['stream']}, served by FFmpeg on 127.0.0.1 (MPEG-TS over HTTP, paced at the clip's rate), "
        f"read by `LiveSource` and run through `Pipeline()` (the shipped starter and NanoDet; {result['backend']}).",
        "",
        "| received | processed | dropped | processed share | poses | latency median | p95 | max |",
        "|---|---|---|---|---|---|---|---|",
        f"| {live.received} | {live.yielded} | {live.dropped} | {result['processed_share']:.0%} | {people} | "
        f"{result['latency_s']['median']:.2f} s | {result['latency_s']['p95']:.2f} s | {result['latency_s']['max']:.2f} s |",
        "", "Latency: from the moment the reader thread decoded a frame to the moment its pose came out of the "
        "pipeline. In live mode no frame waits for a later one (its right aux frame is itself) or for a batch, and the "
        "backend is warmed up before the first frame (`Pipeline.warm_up`).", ""])  # fmt: skip
    save_results(args.out, result, md)
    print(md)


if __name__ == "__main__":
    main()
