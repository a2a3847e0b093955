"""Where an interrupted pass over a video stands: the next frame and the state that frame depends on."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import InputError


@dataclass(frozen=True)
class ResumePoint:
    """After the last result a pass yielded: ``mode`` ("estimate" | "propagate" | "label"), the ``next_frame`` to
    infer, the tracker's state after the frame before it, and the smoothing filter's (estimate mode with ``smooth``).

    ``Pipeline.resume_point`` holds it during a pass; ``estimate(..., resume=point)`` or ``propagate(...,
    resume=point)`` go on from it with the results one uninterrupted pass gives (the frames before it are decoded
    again, only those the next triplets read are kept). ``as_dict``/``from_dict`` keep it in a JSON file.
    """

    mode: str
    next_frame: int
    tracker: dict
    smooth: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, record: dict) -> ResumePoint:
        try:
            return cls(str(record["mode"]), int(record["next_frame"]), dict(record["tracker"]), record.get("smooth"))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"not a resume point ({e}); start the run afresh") from None

    def check(self, mode: str) -> None:
        """A clear error where this point cannot continue a pass in ``mode``. Feature reuse needs nothing kept: the
        shared crops are cut again from the frames decoded again, so a resumed pass gives the uninterrupted one's
        poses within reuse's own tolerance (the crops an aux frame reads may differ at the resume point)."""
        if self.mode != mode:
            raise InputError(f"this resume point is from {self.mode} mode, not {mode}: rerun the same command")
