"""Online smoothing of keypoints per track and joint: the One-Euro filter (Casiez et al., CHI 2012).

A low-pass filter whose cutoff rises with speed: still joints lose their jitter, fast ones keep up. It reads
only past frames (no look-ahead), so it streams. Speeds are measured in person sizes per second (the square
root of the box area), so one setting fits near and far people.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..results import PoseResult


@dataclass
class OneEuro:
    """Smooths the ``PoseResult`` of each frame in order, per track and joint.

    ``min_cutoff`` (Hz): the cutoff of a still joint (lower: smoother, more lag); ``beta``: how fast the cutoff
    rises with speed (higher: less lag on fast motion); ``fps``: the video's frame rate. A track not seen for
    ``max_gap`` frames starts afresh. The defaults were chosen on a synthetic tuning set as the least jitter
    within 1 mAP of the raw model (benchmarks/jitter.py); stronger settings (beta 1) cost 15-30 mAP there.
    """

    min_cutoff: float = 0.5
    beta: float = 16.0
    fps: float = 25.0
    d_cutoff: float = 1.0
    max_gap: int = 5
    _state: dict = field(default_factory=dict, init=False, repr=False)  # track id -> (frame, x_hat, dx_hat)

    def __post_init__(self) -> None:
        if min(self.min_cutoff, self.fps, self.d_cutoff) <= 0 or self.beta < 0:
            raise InputError("OneEuro needs min_cutoff, fps, d_cutoff > 0 and beta >= 0")

    def state(self) -> dict:
        """The filter state per track, as JSON-ready lists (an interrupted run resumes from it)."""
        return {str(k): [t, x.tolist(), dx.tolist()] for k, (t, x, dx) in self._state.items()}

    def restore(self, state: dict) -> OneEuro:
        """This filter, set to a ``state()`` taken earlier."""
        self._state = {int(k): (int(t), np.asarray(x, np.float64), np.asarray(dx, np.float64))
                       for k, (t, x, dx) in state.items()}  # fmt: skip
        return self

    @staticmethod
    def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * np.asarray(cutoff))
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, result: PoseResult) -> PoseResult:
        """``result`` with its keypoints smoothed (in place); the first frame of a track passes unchanged."""
        t = result.frame_index
        for i, tid in enumerate(result.track_ids.tolist()):
            x = result.keypoints[i].astype(np.float64)
            x1, y1, x2, y2 = result.boxes[i]
            size = math.sqrt(max((x2 - x1) * (y2 - y1), 1.0))
            last = self._state.get(tid)
            if last is None or not 0 < t - last[0] <= self.max_gap:
                self._state[tid] = (t, x, np.zeros_like(x))
                continue
            frame, x_prev, dx_prev = last
            dt = (t - frame) / self.fps
            a_d = self._alpha(self.d_cutoff, dt)
            dx = a_d * (x - x_prev) / dt + (1 - a_d) * dx_prev
            speed = np.linalg.norm(dx, axis=-1, keepdims=True) / size  # person sizes per second
            a = self._alpha(self.min_cutoff + self.beta * speed, dt)
            x_hat = x_prev + a * (x - x_prev)  # exactly x_prev for a still joint
            self._state[tid] = (t, x_hat, dx)
            result.keypoints[i] = x_hat
        return result
