"""Whether propagation reads its labels (``evaluation.label_sensitivity``): every label moved d px, the share of d
the propagated joints follow. Sources that carry the labels follow all of it; the shipped starter's model alone
does not (issue 37: its temporal half places joints from the key frame's pixels)."""

from __future__ import annotations

import json

import pytest

from stdpose_infer import Pipeline
from stdpose_infer.data import write_benchmark
from stdpose_infer.data.posetrack_folder import frame_order
from stdpose_infer.evaluation import label_sensitivity
from stdpose_infer.evaluation.predict import sparse_labels
from stdpose_infer.video import read_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(frames, labels on every 4th frame) of a 9-frame synthetic clip with 2 people."""
    root = tmp_path_factory.mktemp("sensitivity_clip")
    write_benchmark(root, videos=1, seed=5, width=256, height=192, frames=9, people=2, occluders=0)
    path = next((root / "annotations").glob("*.json"))
    doc = json.loads(path.read_text())
    frames = [f.image for f in read_frames(root / "images" / path.stem)]
    return frames, sparse_labels(doc, frame_order(doc["images"]), 4)


def test_sources_that_carry_the_labels_follow_them(clip, tiny):
    frames, labels = clip
    interpolated = Pipeline(tiny, backend="torch", detector=None, device="cpu", fallback="interpolate")
    assert label_sensitivity(interpolated, frames, labels, d=10.0) == pytest.approx(1.0, abs=1e-6)
    # tracking follows the pixels at the moved labels, which need not move as the person does: most of d
    tracked = Pipeline(tiny, backend="torch", detector=None, device="cpu", fallback="track")
    assert 0.5 <= label_sensitivity(tracked, frames, labels, d=10.0) <= 1.1


@pytest.mark.xfail(strict=True, reason="issue 37: the starter's temporal half does not read its labels (its joints "
                   "follow 0.21 of a label shift on the held-out real clip, the crop's own shift); when a model "
                   "does, this passes and the mark must go")
def test_the_shipped_model_alone_follows_its_labels(clip):
    frames, labels = clip
    pipe = Pipeline(backend="torch", detector=None, device="cpu", fallback="none")
    assert label_sensitivity(pipe, frames, labels, d=10.0) >= 0.5
