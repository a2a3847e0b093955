"""Keypoint formats: slot meanings, flips, and format conversion that never mislabels a slot."""

from __future__ import annotations

import numpy as np
import pytest

from stdpose_infer import COCO, POSETRACK, convert_keypoints, get_format


def test_posetrack_layout():
    assert POSETRACK.keypoints[1:3] == ("head_bottom", "head_top")
    assert POSETRACK.empty_slots == (3, 4)
    assert POSETRACK.valid_mask.sum() == 15
    assert COCO.valid_mask.all()


@pytest.mark.parametrize("fmt", [COCO, POSETRACK])
def test_flip_pairs_swap_left_and_right(fmt):
    perm = fmt.flip_permutation
    assert sorted(perm) == list(range(17)) and (perm[perm] == np.arange(17)).all()
    for a, b in fmt.flip_pairs:
        assert fmt.keypoints[a].replace("left_", "") == fmt.keypoints[b].replace("right_", "")
    assert len(fmt.flip_pairs) == (8 if fmt is COCO else 7)  # PoseTrack has no eyes
    assert perm[0] == 0  # nose stays


def test_coco_to_posetrack_leaves_slots_coco_lacks_empty():
    kps = np.arange(17 * 2, dtype=np.float32).reshape(1, 17, 2) + 1
    scores = np.full((1, 17), 0.9, np.float32)
    out, out_s = convert_keypoints(kps, scores, "coco", "posetrack")
    for slot in (1, 2, 3, 4):  # head_bottom, head_top (COCO has eyes there), ears (empty in PoseTrack)
        assert out_s[0, slot] == 0 and (out[0, slot] == 0).all()
    np.testing.assert_array_equal(out[0, 5:], kps[0, 5:])
    np.testing.assert_array_equal(out[0, 0], kps[0, 0])


def test_posetrack_to_coco_never_turns_head_points_into_eyes():
    kps = np.ones((2, 3, 17, 2))
    out, out_s = convert_keypoints(kps, np.ones((2, 3, 17)), POSETRACK, COCO)
    assert out.shape == (2, 3, 17, 2)
    assert (out_s[..., 1:5] == 0).all()  # eyes: no counterpart; ears: PoseTrack never labels them
    assert (out_s[..., [0] + list(range(5, 17))] == 1).all()


def test_bad_format_and_shapes():
    with pytest.raises(ValueError, match="unknown keypoint_format 'mpii'"):
        get_format("mpii")
    with pytest.raises(ValueError, match="expected 17 keypoints in 'coco' format"):
        convert_keypoints(np.zeros((1, 15, 2)), np.zeros((1, 15)), "coco", "posetrack")
