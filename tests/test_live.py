"""Live sources against a real stream: FFmpeg (the imageio-ffmpeg binary) serves a clip as MPEG-TS over HTTP on
127.0.0.1 in real time, for one client, and stops by itself (the clip's end, or a watchdog)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest

from stdpose_infer.errors import InputError
from stdpose_infer.video import LiveSource, is_live

FPS, SECONDS = 20, 3


def _clip(path) -> None:
    """A 3 s, 20 fps clip of a bright square crossing a textured background."""
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (0, 0), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (320, 240))
    for t in range(FPS * SECONDS):
        frame = background.copy()
        cv2.rectangle(frame, (10 + 4 * t, 80), (50 + 4 * t, 160), (255, 255, 255), -1)
        writer.write(frame)
    writer.release()


def _listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (Linux's table; elsewhere, assume so after a pause)."""
    try:
        table = open("/proc/net/tcp").read().splitlines()[1:]
    except OSError:
        time.sleep(1.0)
        return True
    return any(line.split()[1] == f"0100007F:{port:04X}" and line.split()[3] == "0A" for line in table)


@pytest.fixture
def stream(tmp_path):
    """An http:// URL serving the clip in real time to one client, ready to connect to."""
    ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the test extra's FFmpeg binary serves the stream")
    clip = tmp_path / "clip.mp4"
    _clip(clip)
    with socket.socket() as s:  # a free port on the loopback interface
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/live.ts"
    server = subprocess.Popen([ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-re", "-i", str(clip),
                               "-c:v", "mpeg2video", "-q:v", "4", "-f", "mpegts", "-listen", "1", url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    watchdog = threading.Timer(60, server.kill)  # never outlives a stuck test
    watchdog.start()
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            assert time.monotonic() < deadline and server.poll() is None, "the test server did not start"
            time.sleep(0.05)
        yield url
    finally:
        watchdog.cancel()
        server.kill()
        server.wait()


def test_a_slow_reader_gets_the_newest_frames_and_the_drops_are_counted(stream):
    with LiveSource(stream) as live:
        taken = []
        for i, image in enumerate(live):
            assert image.shape == (240, 320, 3)
            taken.append(live.latency(i))
            time.sleep(0.2)  # a pipeline at 5 frames/s against a 20 frames/s source
    assert live.received >= 0.8 * FPS * SECONDS  # the reader thread kept up with the source
    assert live.yielded < live.received / 2  # the slow reader saw the newest frames only
    assert live.dropped == live.received - live.yielded  # every frame is either taken or counted as dropped
    assert max(taken) < 0.5  # each taken frame was at most one source frame old, plus decoding
    assert "dropped to keep up" in live.summary()


def test_cli_run_reads_a_stream_and_reports_drops_and_latency(stream, tmp_path, tiny, capsys):
    import json

    from conftest import run_command

    code = run_command(tiny, tmp_path, stream, "--detector", "hog", "--json", str(tmp_path / "live.json"))
    assert code == 0
    out = capsys.readouterr().out
    assert "live:" in out and "frames received" in out and "latency from capture to pose" in out
    doc = json.loads((tmp_path / "live.json").read_text())
    assert len(doc["images"]) >= 5


def test_ctrl_c_on_a_live_run_writes_what_it_has(stream, tmp_path, tiny, monkeypatch, capsys):
    import json

    from conftest import run_command

    from stdpose_infer.cli import interruption

    class StopAfterFive(interruption.StopOnSignal):  # Ctrl-C pressed while the fifth frame is done
        checks = 0

        @property
        def requested(self) -> bool:
            StopAfterFive.checks += 1
            return StopAfterFive.checks >= 5

    monkeypatch.setattr(interruption, "StopOnSignal", StopAfterFive)
    code = run_command(tiny, tmp_path, stream, "--detector", "hog", "--json", str(tmp_path / "live.json"))
    assert code == 0 and "live:" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "live.json").read_text())["images"]) == 5  # written, not kept for --resume
    assert not (tmp_path / "live.incomplete.json").exists()


def test_what_counts_as_live():
    assert is_live(0) and is_live("1") and is_live("rtsp://cam/stream") and is_live("http://127.0.0.1:1/x.ts")
    assert not is_live("clip.mp4") and not is_live(True)
    with pytest.raises(InputError, match="cannot open stream"):
        LiveSource("http://127.0.0.1:9/nothing.ts")  # the discard port: nothing serves there


def test_warm_up_runs_the_detector_and_model_once_and_leaves_the_poses_alone(tiny):
    """A live pass warms the backend up before its first frame (``Pipeline.warm_up``): one blank frame through the
    detector and the model; a pass after it gives the poses a pass without it gives."""
    import numpy as np

    from stdpose_infer import Pipeline
    from stdpose_infer.detect import Detections

    calls = []

    def detector(frame):
        calls.append(frame.shape)
        h, w = frame.shape[:2]
        return Detections(np.array([[w * 0.3, h * 0.2, w * 0.6, h * 0.9]], np.float32), np.ones(1, np.float32))

    frames = np.random.default_rng(0).integers(0, 255, (4, 120, 160, 3), dtype=np.uint8)
    cold = [r.keypoints for r in Pipeline(tiny, backend="torch", device="cpu", detector=detector)(frames)]
    pipe = Pipeline(tiny, backend="torch", device="cpu", detector=detector)
    runs = []
    original = pipe.calls.frame_parts
    pipe.calls.frame_parts = lambda crops: runs.append(len(crops)) or original(crops)
    calls.clear()
    pipe.warm_up()
    assert len(calls) == 1 and runs  # the detector and the model each ran
    warm = [r.keypoints for r in pipe(frames)]
    for a, b in zip(cold, warm):
        np.testing.assert_array_equal(a, b)


def test_a_live_frame_reads_no_other_frame(tiny):
    """Live, each frame is its own aux frame on both sides (the frame taken before it is several frames old on a
    source faster than the pipeline): its poses are those of the frame alone as a one-frame video."""
    import numpy as np

    from stdpose_infer import Pipeline
    from stdpose_infer.pipeline.estimate_mode import estimate_stream

    frames = np.random.default_rng(1).integers(0, 255, (4, 120, 160, 3), dtype=np.uint8)
    boxes = [np.array([[40.0, 20.0, 100.0, 110.0]])] * 4
    pipe = Pipeline(tiny, backend="torch", device="cpu", detector=None, reuse_features=False)
    live = list(estimate_stream(pipe, pipe._frames(frames), boxes, None, live=True))
    for k, result in enumerate(live):
        alone = list(pipe(frames[k : k + 1], boxes[k : k + 1]))[0]
        np.testing.assert_allclose(result.keypoints, alone.keypoints, atol=1e-4)
    assert np.abs(live[1].keypoints - list(pipe(frames[:2], boxes[:2]))[1].keypoints).max() > 1e-3  # not a no-op
