"""ONNX Runtime sessions for the exported tracker graphs (onnxruntime is an optional dependency).

One place imports onnxruntime: a missing install is one clear :class:`OnnxRuntimeError`, and sessions are cached
per process (the evaluation runner creates a tracker per sequence).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from lib.utils.errors import OSTrackError

__all__ = ["OnnxRuntimeError", "require_onnxruntime", "ort_session"]

logger = logging.getLogger(__name__)


class OnnxRuntimeError(OSTrackError):
    """ONNX Runtime is not installed, or cannot load a file."""


def require_onnxruntime() -> Any:
    """The onnxruntime module, or an OnnxRuntimeError saying how to install it (it is an optional dependency)."""
    try:
        import onnxruntime
    except ImportError:
        raise OnnxRuntimeError("ONNX Runtime is not installed: the onnxruntime backend and the export check need "
                               "it. Install it with `pip install onnxruntime` (the install's export extra), or run "
                               "with --backend pytorch.") from None
    return onnxruntime


# (path, size, mtime, threads, providers) -> session: the runner creates a tracker per sequence
_SESSIONS: dict[tuple, Any] = {}


def ort_session(path: str | Path, threads: int = 1, device: str | torch.device = "cpu") -> Any:
    """An ONNX Runtime InferenceSession of ``path`` with all graph optimisations (cached per process).

    Args:
        path: the ONNX file.
        threads: intra-op threads (the tracker's torch threads, so both backends get the same cores).
        device: CUDA uses ONNX Runtime's CUDA provider when it is installed (else the CPU, with a warning).
    """
    ort = require_onnxruntime()
    path = Path(path)
    providers = ["CPUExecutionProvider"]
    if torch.device(device).type == "cuda":
        if "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        else:
            logger.warning("ONNX Runtime has no CUDA provider here (install onnxruntime-gpu); running on the CPU")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, threads, tuple(providers))
    if key not in _SESSIONS:
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        # no busy-waiting between runs: the tracker's Python step (decode, crop, post-processing) and other thread
        # pools (torch's) need those cores between two frames
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            _SESSIONS[key] = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception as err:  # noqa: BLE001 - ONNX Runtime raises its own exception types
            raise OnnxRuntimeError(f"ONNX Runtime cannot load {path} ({type(err).__name__}: {str(err)[:800]}); "
                                   f"expected an ONNX file written by tracking/export_onnx.py.") from None
    return _SESSIONS[key]
