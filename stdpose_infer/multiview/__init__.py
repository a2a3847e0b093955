"""3D from several calibrated views: cameras (``read_calibration``), people matched across views and triangulated
(``reconstruct``), written as OpenSim TRC files (``write_trc``)."""

from .calibration import Camera, read_calibration
from .reconstruct import People3D, reconstruct
from .trc import marker_names, read_trc, write_trc
from .triangulate import triangulate

__all__ = ["Camera", "People3D", "marker_names", "read_calibration", "read_trc", "reconstruct", "triangulate",
           "write_trc"]  # fmt: skip
