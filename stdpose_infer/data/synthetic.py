"""Procedurally rendered videos of articulated people with PoseTrack18 labels (deterministic from a seed).

A stand-in for PoseTrack where none is reachable: what STDPose is built for (people who move,
blur, and hide each other and behind things between labeled frames) in a form the same
loaders, evaluator, pipeline and trainer read. Each person is a 2-D kinematic tree driven by a
gait (swinging legs and arms, knee and elbow bend, body bob) plus slow random gestures; limbs
have width and per-person textures; people face the camera (nose visible) or away (nose
hidden by the head). The camera pans and zooms over a cluttered background; people and the
camera get motion blur along their motion; static objects (poles, crates) occlude people.

Labels follow PoseTrack18: 17 slots with the ears empty; a joint outside the frame is
(0, 0, 0) (not annotated); a joint hidden by another person, an object or its own head keeps
its position with visibility 0 (annotated, occluded), so the evaluator counts it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..keypoints import POSETRACK
from ..results.json_files import write_json

# PoseTrack18 slots (COCO order; 1 = head_bottom, 2 = head_top, 3-4 = ears, always empty).
NOSE, HEAD_BOTTOM, HEAD_TOP = 0, 1, 2
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 5, 6, 7, 8, 9, 10
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 11, 12, 13, 14, 15, 16
# (joint a, joint b, width as a fraction of body height, texture: 0 skin, 1 shirt, 2 trousers)
LIMBS = (
    (L_HIP, L_KNEE, 0.075, 2), (L_KNEE, L_ANKLE, 0.06, 2), (R_HIP, R_KNEE, 0.075, 2), (R_KNEE, R_ANKLE, 0.06, 2),
    (L_SHOULDER, L_ELBOW, 0.055, 1), (L_ELBOW, L_WRIST, 0.045, 0), (R_SHOULDER, R_ELBOW, 0.055, 1),
    (R_ELBOW, R_WRIST, 0.045, 0),
)  # fmt: skip
SKIN, SHIRT, TROUSERS, HAIR = 0, 1, 2, 3
OCCLUDER = 255  # id-buffer value of objects


@dataclass
class SyntheticConfig:
    """What one clip looks like. Every random choice is drawn from ``seed``."""

    width: int = 384
    height: int = 288
    frames: int = 32
    people: int = 3
    seed: int = 0
    occluders: int = 2
    camera_motion: float = 1.0  # 0 = static camera
    motion_blur: bool = True
    person_height: tuple[float, float] = (0.45, 0.85)  # fraction of the frame height
    speed: tuple[float, float] = (0.2, 1.2)  # walking speed, body heights per second at 25 fps
    fps: float = 25.0


@dataclass
class FrameLabels:
    """Ground truth of one rendered frame (PoseTrack18 slots)."""

    keypoints: np.ndarray  # (P, 17, 3): x, y, visibility; (0, 0, 0) = not annotated
    track_ids: np.ndarray  # (P,)
    boxes: np.ndarray  # (P, 4) xyxy: the person's visible pixels in the frame
    head_boxes: np.ndarray  # (P, 4) x, y, w, h (PoseTrack's bbox_head)


@dataclass
class _Person:
    track_id: int
    height: float  # world pixels
    x: float  # at frame 0
    ground: float  # y of the ankles in world pixels
    velocity: float  # world pixels per frame
    facing: float  # cos(yaw): > 0 faces the camera (its left on the image right), < 0 faces away
    gait_freq: float  # cycles per frame
    phase: float
    gesture: np.ndarray  # (8, 3): amplitude, angular frequency, phase of slow extra joint angles
    textures: list[np.ndarray] = field(default_factory=list)


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A coloured, striped or checked, noisy texture (uint8 BGR, size x size)."""
    color = rng.uniform(30, 225, 3)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 16)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    if rng.random() < 0.3:
        stripes = stripes * np.sin((xx * np.sin(angle) - yy * np.cos(angle)) * 2 * np.pi / period)
    contrast = rng.uniform(0, 40)
    noise = rng.normal(0, 8, (size, size, 1))
    return np.clip(color + (contrast * stripes)[..., None] + noise, 0, 255).astype(np.uint8)


def _tiled(tex: np.ndarray, height: int, width: int) -> np.ndarray:
    n = tex.shape[0]
    return np.tile(tex, (height // n + 1, width // n + 1, 1))[:height, :width]


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A cluttered world: gradient sky/ground, blobs and rectangles, noise."""
    img = np.zeros((height, width, 3), np.float32)
    horizon = int(height * rng.uniform(0.25, 0.5))
    img[:horizon] = rng.uniform(90, 230, 3)
    img[horizon:] = rng.uniform(40, 160, 3)
    img += np.linspace(-25, 25, height, dtype=np.float32)[:, None, None]
    for _ in range(int(width * height / 6000)):
        c = tuple(float(v) for v in rng.uniform(20, 235, 3))
        x, y = int(rng.uniform(0, width)), int(rng.uniform(0, height))
        if rng.random() < 0.5:
            w, h = int(rng.uniform(4, width / 8)), int(rng.uniform(4, height / 8))
            cv2.rectangle(img, (x, y), (x + w, y + h), c, -1)
        else:
            cv2.ellipse(img, (x, y), (int(rng.uniform(3, 30)), int(rng.uniform(3, 30))), 0, 0, 360, c, -1)
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 0.8), 0, 255).astype(np.uint8)


def _pose(p: _Person, t: int, world_width: int) -> tuple[np.ndarray, float]:
    """World positions (17, 2) of one person at frame t, and the head length."""
    h = p.height
    x, side = _walk(p, t, world_width)
    phase = 2 * math.pi * p.gait_freq * t + p.phase
    stride = min(1.0, abs(p.velocity) / (0.01 * h) + 0.15)  # standing people barely swing
    g = [a * math.sin(w * t + ph) for a, w, ph in p.gesture]  # slow gestures, radians
    pelvis = np.array([x, p.ground - 0.5 * h + 0.012 * h * math.cos(2 * phase)])
    lean = 0.08 * side * stride + 0.5 * g[0] * 0.3
    up = np.array([math.sin(lean), -math.cos(lean)])
    lateral = np.array([-up[1], up[0]]) * p.facing  # towards the person's left on the image
    neck = pelvis + up * 0.30 * h
    head_len = 0.13 * h
    kp = np.zeros((17, 2))
    kp[HEAD_BOTTOM] = neck + up * 0.02 * h
    kp[HEAD_TOP] = kp[HEAD_BOTTOM] + up * head_len
    kp[NOSE] = kp[HEAD_BOTTOM] + up * 0.45 * head_len + lateral * 0.0 + np.array([0.12 * head_len * side, 0])
    shoulder_w, hip_w = 0.23 * h, 0.15 * h
    kp[L_SHOULDER], kp[R_SHOULDER] = neck + lateral * shoulder_w / 2, neck - lateral * shoulder_w / 2
    kp[L_HIP], kp[R_HIP] = pelvis + lateral * hip_w / 2, pelvis - lateral * hip_w / 2

    def chain(root, a1, l1, a2, l2):
        d1 = np.array([math.sin(a1), math.cos(a1)])
        mid = root + d1 * l1
        d2 = np.array([math.sin(a1 + a2), math.cos(a1 + a2)])
        return mid, mid + d2 * l2

    swing = 0.5 * stride * math.sin(phase)
    for s, (hip, knee, ankle) in zip((1, -1), ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE))):
        thigh = side * s * swing + g[1 + (s < 0)]
        bend = -side * 0.7 * stride * max(0.0, math.sin(phase * s + math.pi / 2)) - abs(g[3]) * side
        kp[knee], kp[ankle] = chain(kp[hip], thigh, 0.25 * h, bend, 0.25 * h)
    for s, (sh, el, wr) in zip((1, -1), ((L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST))):
        upper = -side * s * 0.8 * swing + s * p.facing * (0.15 + g[4 + (s < 0)])
        fore = side * (0.3 + 0.4 * stride) + s * g[6 + (s < 0)] * 1.5
        kp[el], kp[wr] = chain(kp[sh], upper, 0.17 * h, fore, 0.15 * h)
    return kp, head_len


def _walk(p: _Person, t: int, world_width: int) -> tuple[float, float]:
    """x at frame t and the walking direction (+1 right, -1 left): back and forth between the world's edges."""
    lo, span = 0.1 * world_width, 0.8 * world_width
    u = (p.x - lo + p.velocity * t) % (2 * span)
    direction = 1.0 if p.velocity >= 0 else -1.0
    if u > span:
        u, direction = 2 * span - u, -direction
    return lo + u, direction


def _draw_person(p: _Person, kp: np.ndarray, head_len: float, scale: float, canvas_size: tuple[int, int]):
    """Part masks of one person in camera pixels: (class map uint8 with 255 = empty, top-left offset)."""
    pad = int(0.3 * p.height * scale) + 4
    lo = np.floor(kp.min(0)).astype(int) - pad
    hi = np.ceil(kp.max(0)).astype(int) + pad
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [canvas_size[0], canvas_size[1]])
    if np.any(hi - lo < 2):
        return None, lo
    parts = np.full((hi[1] - lo[1], hi[0] - lo[0]), 255, np.uint8)
    q = kp - lo
    hh = p.height * scale

    def pt(v):
        return (int(round(v[0] * 16)), int(round(v[1] * 16)))  # 4 fractional bits for cv2's shift

    torso = np.array([q[L_SHOULDER], q[R_SHOULDER], q[R_HIP], q[L_HIP]])
    hip_mid, sh_mid = q[[L_HIP, R_HIP]].mean(0), q[[L_SHOULDER, R_SHOULDER]].mean(0)
    belt = 0.35 * (sh_mid - hip_mid)
    legs = [(a, b, w, c) for a, b, w, c in LIMBS if c == TROUSERS]
    arms = [(a, b, w, c) for a, b, w, c in LIMBS if c != TROUSERS]
    # arms on the far side go behind the torso
    far_arm = [limb for limb in arms if (limb[0] in (R_SHOULDER, R_ELBOW)) == (p.facing > 0)]
    near_arm = [limb for limb in arms if limb not in far_arm]
    for a, b, w, c in legs + far_arm:
        cv2.line(parts, pt(q[a]), pt(q[b]), c, max(1, int(w * hh)), cv2.LINE_8, 4)
    cv2.fillConvexPoly(parts, np.round(torso * 16).astype(np.int32), SHIRT, cv2.LINE_8, 4)
    cv2.fillConvexPoly(
        parts, np.round(np.array([q[L_HIP] + belt, q[R_HIP] + belt, q[R_HIP], q[L_HIP]]) * 16).astype(np.int32),
        TROUSERS, cv2.LINE_8, 4,
    )  # fmt: skip
    for a, b, w, c in near_arm:
        cv2.line(parts, pt(q[a]), pt(q[b]), c, max(1, int(w * hh)), cv2.LINE_8, 4)
    for j in (L_WRIST, R_WRIST):
        cv2.circle(parts, pt(q[j]), max(1, int(0.03 * hh)) * 16, SKIN, -1, cv2.LINE_8, 4)
    centre = (q[HEAD_TOP] + q[HEAD_BOTTOM]) / 2
    axes = (max(1, int(0.36 * head_len * scale * 16)), max(1, int(0.5 * head_len * scale * 16)))
    cv2.ellipse(parts, pt(centre), axes, 0, 0, 360, SKIN if p.facing > 0 else HAIR, -1, cv2.LINE_8, 4)
    if p.facing > 0:  # hair on top, and a face the nose label can be seen on
        cv2.ellipse(parts, pt(centre), axes, 0, 180, 360, HAIR, -1, cv2.LINE_8, 4)
    return parts, lo


def person_textures(rng: np.random.Generator) -> list[np.ndarray]:
    """A person's four textures (skin, shirt, trousers, hair), the skin tinted toward a skin tone."""
    textures = [_texture(rng, 96) for _ in range(4)]
    textures[SKIN] = np.clip(textures[SKIN] * 0.3 + rng.uniform(60, 200) * np.array([0.75, 0.85, 1.0]) * 0.7,
                             0, 255).astype(np.uint8)  # fmt: skip
    return textures


def person_layer(p: _Person, parts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_draw_person``'s part map painted with the person's textures: (h, w, 3) float colours and (h, w) alpha."""
    hgt, wid = parts.shape
    layer = np.zeros((hgt, wid, 3), np.float32)
    for cls, tex in enumerate(p.textures):
        m = parts == cls
        if m.any():
            layer[m] = _tiled(tex, hgt, wid)[m]
    return layer, (parts != 255).astype(np.float32)


def _motion_kernel(dx: float, dy: float) -> np.ndarray | None:
    length = math.hypot(dx, dy)
    if length < 1.5:
        return None
    n = int(min(length, 15)) | 1
    k = np.zeros((n, n), np.float32)
    c = n // 2
    ux, uy = dx / length, dy / length
    cv2.line(k, (int(round(c - ux * c)), int(round(c - uy * c))), (int(round(c + ux * c)), int(round(c + uy * c))), 1)
    return k / k.sum()


class SyntheticVideo:
    """Frames and labels of one clip, rendered lazily: ``for frame, labels in SyntheticVideo(config)``."""

    def __init__(self, config: SyntheticConfig) -> None:
        c = self.config = config
        if c.width < 64 or c.height < 64 or c.frames < 1 or c.people < 0:
            raise InputError(f"synthetic video needs width, height >= 64, frames >= 1, people >= 0; got {c}")
        rng = self._rng = np.random.default_rng(c.seed)
        self.world_size = (int(c.width * 1.6), int(c.height * 1.3))
        self.background = _background(rng, *self.world_size)
        self.people = [self._person(rng, i + 1) for i in range(c.people)]
        self.occluders = [self._occluder(rng) for _ in range(c.occluders)]
        self.camera_path = self._camera(rng)

    def _person(self, rng: np.random.Generator, track_id: int) -> _Person:
        c = self.config
        height = c.height * rng.uniform(*c.person_height)
        speed = rng.uniform(*c.speed) * height / c.fps * rng.choice([-1, 1])
        if rng.random() < 0.2:
            speed *= 0.1  # some people stand
        facing = rng.choice([-1, 1]) * rng.uniform(0.5, 1.0)
        gesture = np.stack([rng.uniform(0, 0.5, 8), rng.uniform(0.03, 0.2, 8), rng.uniform(0, 2 * np.pi, 8)], 1)
        ground = self.world_size[1] * rng.uniform(0.72, 0.95)
        x = rng.uniform(0.15, 0.85) * self.world_size[0]
        p = _Person(
            track_id, height, x, ground, speed, facing, rng.uniform(0.8, 1.8) / c.fps, rng.uniform(0, 6.3), gesture
        )
        p.textures = person_textures(rng)
        return p

    def _occluder(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A static object in world pixels (polygon) with its texture."""
        w, h = self.world_size
        if rng.random() < 0.5:  # a pole
            x, pw = rng.uniform(0, w), rng.uniform(0.02, 0.05) * w
            poly = np.array([[x, 0.2 * h], [x + pw, 0.2 * h], [x + pw, h], [x, h]])
        else:  # a crate or a low wall
            x, y = rng.uniform(0, w), rng.uniform(0.7, 0.9) * h
            bw, bh = rng.uniform(0.06, 0.2) * w, rng.uniform(0.1, 0.3) * h
            poly = np.array([[x, y - bh], [x + bw, y - bh], [x + bw, h], [x, h]])
        return poly, _texture(rng, 64)

    def _camera(self, rng: np.random.Generator) -> np.ndarray:
        """(frames, 3): camera x, y offset (world pixels) and zoom, a smooth random walk."""
        c, (ww, wh) = self.config, self.world_size
        n = c.frames
        t = np.arange(n, dtype=np.float64)
        path = np.zeros((n, 3))
        for axis, room in ((0, ww - c.width), (1, wh - c.height)):
            f, ph = rng.uniform(0.005, 0.03, 2), rng.uniform(0, 2 * np.pi, 2)
            wave = 0.6 * np.sin(2 * np.pi * f[0] * t + ph[0]) + 0.4 * np.sin(2 * np.pi * f[1] * t + ph[1])
            path[:, axis] = room / 2 + c.camera_motion * wave * room / 2
        path[:, 2] = 1.0 + c.camera_motion * 0.1 * np.sin(2 * np.pi * rng.uniform(0.005, 0.02) * t + rng.uniform(0, 6))
        return path

    def __len__(self) -> int:
        return self.config.frames

    def __iter__(self) -> Iterator[tuple[np.ndarray, FrameLabels]]:
        for t in range(self.config.frames):
            yield self.render(t)

    def _to_camera(self, t: int) -> np.ndarray:
        """2x3 affine world -> frame at frame t (zoom about the frame centre)."""
        c = self.config
        x, y, zoom = self.camera_path[t]
        cx, cy = c.width / 2, c.height / 2
        return np.array([[zoom, 0, cx - zoom * (x + cx)], [0, zoom, cy - zoom * (y + cy)]])

    def render(self, t: int) -> tuple[np.ndarray, FrameLabels]:
        """Frame t (uint8 BGR) and its labels."""
        c = self.config
        cam = self._to_camera(t)
        zoom = cam[0, 0]
        frame = cv2.warpAffine(self.background, cam, (c.width, c.height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)  # fmt: skip
        if c.motion_blur and t > 0:
            shift = cam[:, 2] - self._to_camera(t - 1)[:, 2]
            kernel = _motion_kernel(*shift)
            if kernel is not None:
                frame = cv2.filter2D(frame, -1, kernel)
        ids = np.zeros((c.height, c.width), np.uint8)
        frame_f = frame.astype(np.float32)
        poses = []
        for p in sorted(self.people, key=lambda q: q.ground):  # far people first
            kp_world, head_len = _pose(p, t, self.world_size[0])
            kp = kp_world @ cam[:, :2].T + cam[:, 2]
            parts, lo = _draw_person(p, kp, head_len, zoom, (c.width, c.height))
            poses.append((p, kp, head_len * zoom))
            if parts is None:
                continue
            hgt, wid = parts.shape
            layer, alpha = person_layer(p, parts)
            if c.motion_blur:
                prev = _pose(p, max(t - 1, 0), self.world_size[0])[0] @ cam[:, :2].T + cam[:, 2]
                kernel = _motion_kernel(*(kp - prev).mean(0))
                if kernel is not None:
                    layer = cv2.filter2D(layer * alpha[..., None], -1, kernel)
                    alpha = cv2.filter2D(alpha, -1, kernel)
                    layer = layer / np.maximum(alpha[..., None], 1e-6)
            region = frame_f[lo[1] : lo[1] + hgt, lo[0] : lo[0] + wid]
            region[:] = region * (1 - alpha[..., None]) + layer * alpha[..., None]
            ids[lo[1] : lo[1] + hgt, lo[0] : lo[0] + wid][alpha > 0.5] = p.track_id
        for poly, tex in self.occluders:
            cam_poly = poly @ cam[:, :2].T + cam[:, 2]
            mask = np.zeros((c.height, c.width), np.uint8)
            cv2.fillConvexPoly(mask, np.round(cam_poly).astype(np.int32), 1)
            frame_f[mask > 0] = _tiled(tex, c.height, c.width)[mask > 0]
            ids[mask > 0] = OCCLUDER
        frame = np.clip(frame_f, 0, 255).astype(np.uint8)
        return frame, self._labels(poses, ids)

    def _labels(self, poses, ids: np.ndarray) -> FrameLabels:
        c = self.config
        rows, tids, boxes, heads = [], [], [], []
        for p, kp, head_len in sorted(poses, key=lambda e: e[0].track_id):
            inside = (kp[:, 0] >= 0) & (kp[:, 0] <= c.width - 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= c.height - 1)
            inside[[3, 4]] = False  # ears: never annotated in PoseTrack
            mine = np.argwhere(ids == p.track_id)
            if not inside.any() or len(mine) < 20:
                continue
            xi = np.clip(np.round(kp[:, 0]).astype(int), 0, c.width - 1)
            yi = np.clip(np.round(kp[:, 1]).astype(int), 0, c.height - 1)
            owner = ids[yi, xi]
            visible = inside & ((owner == p.track_id) | (owner == 0))
            if p.facing < 0:
                visible[NOSE] = False  # behind the head
            k = np.zeros((17, 3))
            k[inside, :2] = kp[inside]
            k[inside, 2] = visible[inside]
            rows.append(k)
            tids.append(p.track_id)
            (y0, x0), (y1, x1) = mine.min(0), mine.max(0)
            boxes.append([x0, y0, x1 + 1, y1 + 1])
            centre = (kp[HEAD_TOP] + kp[HEAD_BOTTOM]) / 2
            heads.append([centre[0] - head_len / 2, centre[1] - head_len / 2, head_len, head_len])
        return FrameLabels(
            np.array(rows).reshape(-1, 17, 3), np.array(tids, np.int64), np.array(boxes, float).reshape(-1, 4),
            np.array(heads, float).reshape(-1, 4),
        )  # fmt: skip


def posetrack_document(labels: list[FrameLabels], video_id: int, file_names: list[str], size: tuple[int, int],
                       label_every: int = 1) -> dict:  # fmt: skip
    """A PoseTrack18 document; frames not on the ``label_every`` grid are listed but not labeled."""
    images, annotations = [], []
    width, height = size
    for t, (lab, name) in enumerate(zip(labels, file_names)):
        image_id = video_id * 10_000 + t
        labeled = t % label_every == 0
        images.append({"id": image_id, "file_name": name, "frame_id": image_id, "vid_id": video_id,
                       "nframes": len(labels), "frame_index": t, "is_labeled": labeled,
                       "width": width, "height": height, "ignore_regions_x": [], "ignore_regions_y": []})  # fmt: skip
        if not labeled:
            continue
        for k, tid, box, head in zip(lab.keypoints, lab.track_ids, lab.boxes, lab.head_boxes):
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append({
                "id": len(annotations), "image_id": image_id, "track_id": int(tid), "category_id": 1,
                "keypoints": [round(float(v), 2) for v in k.ravel()], "bbox": [x0, y0, x1 - x0, y1 - y0],
                "bbox_head": [round(float(v), 2) for v in head],
            })  # fmt: skip
    category = {"id": 1, "name": "person", "keypoints": list(POSETRACK.keypoints),
                "skeleton": [list(e) for e in POSETRACK.skeleton]}  # fmt: skip
    return {"images": images, "annotations": annotations, "categories": [category]}


def write_clip(config: SyntheticConfig, root: str | Path, name: str, video_id: int = 1,
               label_every: int = 1) -> Path:  # fmt: skip
    """Render one clip to ``root/images/NAME/000000.jpg...`` and ``root/annotations/NAME.json``; returns the JSON.

    ``label_every=T`` labels every T-th frame only (sparse labels, as PoseTrack's training set).
    """
    root = Path(root)
    folder = root / "images" / name
    folder.mkdir(parents=True, exist_ok=True)
    names, labels = [], []
    for t, (frame, lab) in enumerate(SyntheticVideo(config)):
        rel = f"images/{name}/{t:06d}.jpg"
        if not cv2.imwrite(str(root / rel), frame, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise InputError(f"cannot write {root / rel}")
        names.append(rel)
        labels.append(lab)
    doc = posetrack_document(labels, video_id, names, (config.width, config.height), label_every)
    return write_json(doc, root / "annotations" / f"{name}.json")


def write_benchmark(root: str | Path, videos: int = 8, seed: int = 0, label_every: int = 1, **config) -> list[Path]:
    """A benchmark folder of ``videos`` clips, clip i seeded with ``seed * 1000 + i`` (same seed, same pixels)."""
    return [
        write_clip(SyntheticConfig(seed=seed * 1000 + i, **config), root, f"{i:06d}_synthetic", i + 1, label_every)
        for i in range(videos)
    ]
