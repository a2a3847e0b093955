"""From poses to numbers about movement: joint and segment angles, angular velocities and keypoint speeds per track
(``kinematics``), and their plot over time (``plot_angles``). Needs the ``analytics`` extra (pandas, SciPy,
Matplotlib)."""

from .angles import ANGLES, available
from .kinematics import kinematics, pixel_height
from .plot import plot_angles

__all__ = ["ANGLES", "available", "kinematics", "pixel_height", "plot_angles"]
