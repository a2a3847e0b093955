"""Build and cache TensorRT engines from exported ONNX, for ``tensorrt`` (10/11) and ``tensorrt_rtx``.

Both packages share one API. An engine is cached under ``engines/`` by a key over the ONNX
content (graph and side file), the TensorRT flavour and version, the target GPU architecture,
the precision and the batch profile; a JSON sidecar records them. Loading an engine checks the
sidecar against the running TensorRT and GPU and refuses a mismatch with a message that says
which and how to rebuild: an engine is never loaded blindly.

TensorRT-RTX builds ahead of time without a GPU (``target="SM89"``): that is how CI proves every
exported graph builds. Full TensorRT builds only for the GPU it runs on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import EngineError, InputError, MissingDependencyError
from ..export.onnx_graph import onnx_digest, read_onnx_info

log = logging.getLogger(__name__)
FLAVOURS = ("tensorrt", "tensorrt_rtx")
DEFAULT_PROFILE = (1, 16, 64)  # min / opt / max batch
_LOGGERS: dict[str, object] = {}


def import_tensorrt(flavour: str = "auto"):
    """The ``tensorrt`` or ``tensorrt_rtx`` module ("auto": full TensorRT first, then RTX)."""
    import importlib

    names = FLAVOURS if flavour == "auto" else (flavour,)
    if flavour != "auto" and flavour not in FLAVOURS:
        raise InputError(f"flavour must be 'auto' or one of {FLAVOURS}, got {flavour!r}")
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise MissingDependencyError(
        f"the TensorRT backend needs {' or '.join(names)}, which is not installed. Install TensorRT for RTX "
        '(builds engines even without a GPU) with pip install "stdpose-infer[tensorrt-rtx]", or datacenter '
        'TensorRT with pip install "stdpose-infer[tensorrt]"'
    )


def trt_logger(trt):
    """One logger per flavour: TensorRT keeps the first one it is given."""
    if trt.__name__ not in _LOGGERS:
        _LOGGERS[trt.__name__] = trt.Logger(trt.Logger.WARNING)
    return _LOGGERS[trt.__name__]


def current_gpu() -> tuple[str, str] | None:
    """(architecture "sm_90", GPU name) of the current CUDA device, or None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    major, minor = torch.cuda.get_device_capability()
    return f"sm_{major}{minor}", torch.cuda.get_device_name()


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on; its hash names the cached file."""

    onnx_sha256: str
    flavour: str
    trt_version: str
    target: str  # "sm_90" (built for that GPU) or "SM89" (ahead of time, RTX)
    precision: str
    profile: tuple[int, int, int]

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def build_engine(
    onnx_path: str | Path,
    cache_dir: str | Path = "engines",
    profile: tuple[int, int, int] = DEFAULT_PROFILE,
    flavour: str = "auto",
    target: str | None = None,
    rebuild: bool = False,
) -> Path:
    """Engine for ``onnx_path`` from the cache, or built and cached; returns the ``.engine`` path.

    ``target`` None builds for the current GPU; "SM89" (any ``trt.ComputeCapability`` name) builds
    ahead of time with TensorRT-RTX, no GPU needed.
    """
    trt = import_tensorrt(flavour)
    info = read_onnx_info(onnx_path)
    lo, opt, hi = profile
    if not 1 <= lo <= opt <= hi:
        raise InputError(f"profile must be (min, opt, max) batch with 1 <= min <= opt <= max, got {profile}")
    target_name = _target_name(trt, target)
    key = EngineKey(onnx_digest(onnx_path), trt.__name__, trt.__version__, target_name, info.precision, (lo, opt, hi))
    cache_dir = Path(cache_dir)
    engine_path = cache_dir / f"{Path(onnx_path).stem}-{key.digest()}.engine"
    if engine_path.is_file() and not rebuild:
        log.info("engine cache hit: %s", engine_path)
        return engine_path

    start = time.perf_counter()
    serialized = _build(trt, Path(onnx_path), target, (lo, opt, hi), cache_dir / f"timing-{trt.__name__}-"
                        f"{trt.__version__}-{target_name}.cache")  # fmt: skip
    seconds = time.perf_counter() - start
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = engine_path.with_suffix(".partial")
    tmp.write_bytes(serialized)
    tmp.replace(engine_path)  # never leave a half-written engine under the final name
    gpu = current_gpu()
    sidecar = {
        **asdict(key),
        "onnx": str(Path(onnx_path).name),
        "mode": info.mode,
        "config": info.config.to_json(),
        "built_on_gpu": gpu[1] if gpu else None,
        "build_seconds": round(seconds, 2),
    }
    engine_path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
    log.info("built %s in %.1f s", engine_path, seconds)
    return engine_path


def _target_name(trt, target: str | None) -> str:
    """The compute target an engine is built for: this machine's GPU, or an ahead-of-time TensorRT-RTX target."""
    if target is None:
        gpu = current_gpu()
        if gpu is None:
            raise EngineError(
                "building a TensorRT engine for this machine needs a CUDA GPU, and none is visible. "
                "TensorRT-RTX can build ahead of time for another GPU: target='SM89' (or SM80, SM86, SM120)"
            )
        return gpu[0]
    if trt.__name__ != "tensorrt_rtx":
        raise EngineError("ahead-of-time builds (target=...) need TensorRT-RTX; full TensorRT builds for its GPU")
    if not hasattr(trt.ComputeCapability, target):
        names = [n for n in dir(trt.ComputeCapability) if n.startswith("SM")]
        raise EngineError(f"TensorRT-RTX {trt.__version__} cannot target {target!r}; it knows {names}")
    return target


def _build(trt, onnx_path: Path, target: str | None, profile: tuple[int, int, int], timing_path: Path) -> bytes:
    """Parse the graph (strongly typed), set the target and the batch profile, build; the serialised engine."""
    rtx = trt.__name__ == "tensorrt_rtx"
    logger = trt_logger(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):  # from the path: side files are found beside it
        errors = "; ".join(parser.get_error(i).desc() for i in range(parser.num_errors))
        raise EngineError(f"{trt.__name__} could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    if target is not None or rtx:
        config.num_compute_capabilities = 1
        capability = getattr(trt.ComputeCapability, target) if target is not None else trt.ComputeCapability.CURRENT
        config.set_compute_capability(capability, 0)
    lo, opt, hi = profile
    shape_profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        rest = tuple(tensor.shape)[1:]
        shape_profile.set_shape(tensor.name, (lo, *rest), (opt, *rest), (hi, *rest))
    config.add_optimization_profile(shape_profile)
    if not rtx:  # TensorRT-RTX has no timing cache (its operations are no-ops there)
        blob = timing_path.read_bytes() if timing_path.is_file() else b""
        config.set_timing_cache(config.create_timing_cache(blob), False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineError(
            f"{trt.__name__} {trt.__version__} failed to build {onnx_path} for {target or 'this GPU'} "
            "(its log above says why)" + (". TensorRT-RTX lists SM75/80/86/89/120 only" if rtx else "")
        )
    if not rtx:
        timing_path.parent.mkdir(parents=True, exist_ok=True)
        timing_path.write_bytes(bytes(config.get_timing_cache().serialize()))
    return bytes(serialized)


def read_engine_sidecar(engine_path: str | Path) -> dict:
    """The sidecar of a cached engine; an engine without one is refused (it cannot be checked)."""
    engine_path = Path(engine_path)
    if not engine_path.is_file():
        raise EngineError(f"engine not found: {engine_path}")
    sidecar = engine_path.with_suffix(".json")
    if not sidecar.is_file():
        raise EngineError(
            f"{engine_path} has no {sidecar.name} beside it, so its TensorRT version and target GPU are unknown. "
            "Engines load only with their sidecar: rebuild it from the ONNX with stdpose_infer.runtime.build_engine"
        )
    return json.loads(sidecar.read_text())


def check_engine(engine_path: str | Path, trt=None) -> dict:
    """Refuse an engine built by another TensorRT flavour or version, or for another GPU."""
    meta = read_engine_sidecar(engine_path)
    trt = trt or import_tensorrt(meta["flavour"])
    problems = []
    if meta["flavour"] != trt.__name__ or meta["trt_version"] != trt.__version__:
        problems.append(f"built with {meta['flavour']} {meta['trt_version']}, this is {trt.__name__} {trt.__version__}")
    gpu = current_gpu()
    if gpu is None:
        problems.append("no CUDA GPU is visible to run it")
    elif meta["target"].startswith("sm_") and meta["target"] != gpu[0]:
        problems.append(f"built for {meta['target']}, this GPU ({gpu[1]}) is {gpu[0]}")
    elif meta["target"].startswith("SM") and meta["target"] != "SM" + gpu[0][3:]:
        problems.append(f"built ahead of time for {meta['target']}, this GPU ({gpu[1]}) is {gpu[0]}")
    if problems:
        raise EngineError(
            f"refusing to load {engine_path}: " + "; ".join(problems) + ". Rebuild it on this machine from its ONNX "
            f"({meta.get('onnx')}): load_backend(onnx_path, backend='tensorrt') rebuilds into the cache"
        )
    return meta
