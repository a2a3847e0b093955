"""Calibrated cameras: intrinsics K, distortion, and the world-to-camera pose (x_cam = R X + t), read from
Pose2Sim's files (a Qualisys ``.qca.txt`` export, or its ``Calib.toml``), CMU Panoptic's JSON (``cameras``: K,
distCoef, R, t in centimetres) or OpenCV's (YAML or JSON with K, dist, R or rvec, t per camera). The world frame is
the calibration's own; its unit here is always metres."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

FORMATS = ("a Qualisys .qca.txt (Pose2Sim), Pose2Sim's Calib.toml, CMU Panoptic's calibration JSON, or OpenCV "
           "YAML/JSON (K, dist, R or rvec, t)")


@dataclass
class Camera:
    """One view: ``K`` (3, 3), ``dist`` (OpenCV's k1, k2, p1, p2[, k3]), ``R`` (3, 3) and ``t`` (3,) with
    x_cam = R X + t (X in the calibration's world frame, metres), ``size`` (width, height) in pixels."""

    name: str
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray
    size: tuple[int, int] = (0, 0)

    @property
    def P(self) -> np.ndarray:
        """The (3, 4) projection matrix of undistorted pixels."""
        return self.K @ np.hstack([self.R, self.t[:, None]])

    @property
    def centre(self) -> np.ndarray:
        """The camera's centre in world coordinates."""
        return -self.R.T @ self.t

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 2) distorted pixels (NaN in, NaN out)."""
        flat = points.reshape(-1, 3).astype(np.float64)
        out = np.full((len(flat), 2), np.nan)
        ok = np.isfinite(flat).all(1)
        if ok.any():
            rvec, _ = cv2.Rodrigues(self.R)
            out[ok] = cv2.projectPoints(flat[ok], rvec, self.t.astype(np.float64), self.K, self.dist)[0].reshape(-1, 2)
        return out.reshape(*points.shape[:-1], 2)

    def undistort(self, pixels: np.ndarray) -> np.ndarray:
        """(..., 2) distorted pixels -> (..., 2) undistorted pixels (what ``P`` maps to)."""
        flat = pixels.reshape(-1, 2).astype(np.float64)
        out = np.full(flat.shape, np.nan)
        ok = np.isfinite(flat).all(1)
        if ok.any():
            out[ok] = cv2.undistortPoints(flat[ok].reshape(-1, 1, 2), self.K, self.dist, P=self.K).reshape(-1, 2)
        return out.reshape(pixels.shape)


def read_calibration(path: str | Path) -> list[Camera]:
    """The cameras of a calibration file, in the file's order (see ``FORMATS``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such calibration file; give {FORMATS}")
    name = path.name.lower()
    try:
        if name.endswith(".qca.txt") or name.endswith(".qca"):
            cameras = _qualisys(path)
        elif name.endswith(".toml"):
            cameras = _pose2sim_toml(path)
        elif name.endswith(".json"):
            cameras = _json(json.loads(path.read_text()))
        elif name.endswith((".yml", ".yaml")):
            cameras = _opencv_yaml(path)
        else:
            raise InputError(f"{path}: not a calibration file this reads; give {FORMATS}")
    except (KeyError, ValueError, TypeError, ET.ParseError) as e:  # (TOMLDecodeError is a ValueError)
        raise InputError(f"{path}: cannot read its cameras ({type(e).__name__}: {e}); give {FORMATS}") from e
    if len(cameras) < 2:
        raise InputError(f"{path}: {len(cameras)} camera(s); triangulation needs at least 2")
    return cameras


def _qualisys(path: Path) -> list[Camera]:
    """Qualisys QTM's XML as Pose2Sim converts it: intrinsics and distortion in 1/64 pixel, the camera's centre in
    mm and a rotation that, flipped on its y and z axes, maps world to camera."""
    cameras = []
    for cam in ET.parse(path).getroot().iter("camera"):
        i, tr, fov = cam.find("intrinsic").attrib, cam.find("transform").attrib, cam.find("fov_video").attrib
        K = np.array([[float(i["focalLengthU"]) / 64, 0, float(i["centerPointU"]) / 64],
                      [0, float(i["focalLengthV"]) / 64, float(i["centerPointV"]) / 64], [0, 0, 1]])  # fmt: skip
        dist = np.array([float(i[k]) / 64 for k in ("radialDistortion1", "radialDistortion2", "tangentalDistortion1",
                                                     "tangentalDistortion2")])  # fmt: skip
        rotation = np.array([[float(tr[f"r{a}{b}"]) for b in "123"] for a in "123"])
        R = np.diag([1.0, -1.0, -1.0]) @ rotation
        centre = np.array([float(tr[k]) for k in "xyz"]) / 1000
        size = (int(fov["right"]) - int(fov["left"]) + 1, int(fov["bottom"]) - int(fov["top"]) + 1)
        cameras.append(Camera(cam.attrib.get("serial", f"cam{len(cameras) + 1:02d}"), K, dist, R, -R @ centre, size))
    return cameras


def _pose2sim_toml(path: Path) -> list[Camera]:
    """Pose2Sim's Calib.toml: a table per camera (matrix, distortions, rotation as a Rodrigues vector,
    translation in metres, size)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        from ..errors import require

        tomllib = require("tomli", "analytics", "reading a Calib.toml on Python 3.10")
    cameras = []
    for key, cam in tomllib.loads(path.read_text()).items():
        if key == "metadata" or not isinstance(cam, dict):
            continue
        if cam.get("fisheye", False):
            raise InputError(f"{path}: camera {key} is a fisheye model, which this does not read")
        R, _ = cv2.Rodrigues(np.array(cam["rotation"], np.float64))
        cameras.append(Camera(str(cam.get("name", key)), np.array(cam["matrix"], np.float64),
                              np.array(cam["distortions"], np.float64), R, np.array(cam["translation"], np.float64),
                              tuple(int(v) for v in cam.get("size", (0, 0)))))  # fmt: skip
    return cameras


def _json(doc) -> list[Camera]:
    """CMU Panoptic Studio's calibration (as its toolbox and mmpose's VoxelPose read it: ``cameras``, each with a
    name such as ``00_03``, K, distCoef (k1, k2, p1, p2, k3), R and t in centimetres), or OpenCV's layout: a list
    of objects with K, dist, R (3x3) or rvec, t, or {name: object}."""
    if isinstance(doc, dict) and isinstance(doc.get("cameras"), list) and all(
            isinstance(c, dict) and "distCoef" in c for c in doc["cameras"]):  # fmt: skip
        return [Camera(str(c["name"]), np.array(c["K"], np.float64), np.array(c["distCoef"], np.float64),
                       np.array(c["R"], np.float64), np.ravel(np.array(c["t"], np.float64)) / 100,
                       tuple(int(v) for v in c.get("resolution", (0, 0)))) for c in doc["cameras"]]  # fmt: skip
    items = doc.items() if isinstance(doc, dict) else ((c.get("name", f"cam{i + 1:02d}"), c) for i, c in
                                                       enumerate(doc))  # fmt: skip
    return [_opencv_camera(str(name), {k: np.array(v, np.float64) for k, v in c.items() if k != "name"})
            for name, c in items]  # fmt: skip


def _opencv_yaml(path: Path) -> list[Camera]:
    """OpenCV's YAML (FileStorage): the keys ``K_<i>``, ``dist_<i>``, ``R_<i>`` / ``rvec_<i>``, ``t_<i>``."""
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    cameras, i = [], 0
    while not storage.getNode(f"K_{i}").empty():
        node = {k: storage.getNode(f"{k}_{i}").mat() for k in ("K", "dist", "R", "rvec", "t", "size")
                if not storage.getNode(f"{k}_{i}").empty()}  # fmt: skip
        cameras.append(_opencv_camera(f"cam{i + 1:02d}", node))
        i += 1
    storage.release()
    return cameras


def _opencv_camera(name: str, c: dict) -> Camera:
    R = np.asarray(c["R"], np.float64).reshape(3, 3) if "R" in c else cv2.Rodrigues(np.asarray(c["rvec"], np.float64))[0]
    size = tuple(int(v) for v in np.ravel(c["size"])) if "size" in c else (0, 0)
    return Camera(name, np.asarray(c["K"], np.float64).reshape(3, 3), np.ravel(c.get("dist", np.zeros(4))), R,
                  np.ravel(c["t"]).astype(np.float64), size)  # fmt: skip
