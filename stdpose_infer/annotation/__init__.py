"""Annotation tools' files: sparse labels in (``read_labels``), propagated poses out for review.

In: PoseTrack18/21 and COCO JSON, CVAT for video 1.1 XML, Label Studio JSON. Out: ``cvat_xml``,
``label_studio_tasks`` + ``labeling_config``, the review list (``review_rows``); COCO and PoseTrack JSON are
written by ``results``.
"""

from .cvat_xml import cvat_xml
from .formats import LABEL_FORMATS, read_labels
from .label_studio import label_studio_tasks, labeling_config
from .labels import FrameLabels, LabeledPose
from .review import review_rows, review_summary, write_review_csv

__all__ = ["LABEL_FORMATS", "FrameLabels", "LabeledPose", "cvat_xml", "label_studio_tasks", "labeling_config",
           "read_labels", "review_rows", "review_summary", "write_review_csv"]  # fmt: skip
