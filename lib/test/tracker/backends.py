"""The trackers' network backends: one call for PyTorch and for ONNX Runtime.

Every tracker keeps its crop, window and decode logic in one Python code path and reaches its network only through
a backend with two calls:

* ``backend.set_template(*template_inputs)`` once per sequence (the template crop, for OSTrack also the CE mask);
* ``backend.track(search) -> tuple of float32 tensors`` per frame (the family's outputs, e.g. OSTrack's score,
  size and offset maps).

:class:`TorchBackend` calls the PyTorch network the way the tracker always did (``FamilyCalls``), in fp32 or in a
precision converted once at load (lib.test.tracker.precision). :class:`OrtBackend` runs the graphs written by
``tracking/export_onnx.py`` (lib.models.export) and refuses a file exported from another network config,
checkpoint or family (lib.test.tracker.deploy_metadata). The choice travels in the test parameters (``params.backend``, ``params.precision``, ``params.onnx``;
:func:`set_runtime_options`), so worker processes build the same backend.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from lib.models.export import DEFAULT_OPSET, check_onnx, deploy_graphs, export_onnx, template_graph_path
from lib.models.onnx_runtime import ort_session
from lib.test.tracker.deploy_metadata import deploy_metadata, metadata_mismatch
from lib.test.tracker.precision import PRECISION_DTYPES, PRECISIONS, converted_network, resolve_precision
from lib.test.utils.params import TrackerParams
from lib.utils.errors import ConfigError, OSTrackError
from lib.utils.registry import Registry

__all__ = ["BACKENDS", "FAMILY_CALLS", "BackendError", "FamilyCalls", "TorchBackend", "OrtBackend", "create_backend",
           "set_runtime_options", "default_onnx_path", "export_tracker", "ExportResult"]

logger = logging.getLogger(__name__)

#: the values of --backend
BACKENDS = ("pytorch", "onnxruntime")


class BackendError(OSTrackError):
    """A backend cannot run: no ONNX file, or one that does not belong to the tracker (config, checkpoint, family)."""


@dataclass(frozen=True)
class FamilyCalls:
    """How a family's tracker calls its PyTorch network (the calls the ONNX graphs reproduce).

    Attributes:
        script: the family ('ostrack', 'siamrpn', 'siamban', 'siamfcpp'); names its ONNX graphs.
        template_call: ``(network, *template_inputs) -> state`` (a tuple of tensors, possibly empty).
        track_call: ``(network, search, *state) -> outputs`` (a tuple of tensors).
        network_config: ``params -> plain data`` that determines the network and its input sizes (hashed into the
            ONNX metadata so that a file of another config is refused).
        keep_fp32: submodule-name patterns kept in float32 under bf16 / fp16 (the output layers).
    """

    script: str
    template_call: Callable[..., tuple]
    track_call: Callable[..., tuple]
    network_config: Callable[[TrackerParams], Any]
    keep_fp32: tuple[str, ...] = ()


#: tracker family -> its FamilyCalls (profile_model.py and benchmark_tracker.py convert networks with them)
FAMILY_CALLS = Registry("tracker family", "--script", {
    "ostrack": "lib.test.tracker.ostrack:OSTRACK_CALLS",
    "siamrpn": "lib.test.tracker.siamrpn:SIAMRPN_CALLS",
    "siamban": "lib.test.tracker.siamban:SIAMBAN_CALLS",
    "siamfcpp": "lib.test.tracker.siamfcpp:SIAMFCPP_CALLS",
}, plural="tracker families")


class TorchBackend:
    """The PyTorch network, in the precision chosen at load; outputs are float32.

    Args:
        network: the float32 network in eval mode, on ``device``.
        calls: the family's calls.
        device: where the network runs.
        precision: 'fp32', 'bf16' or 'fp16' (resolved; see resolve_precision).
    """

    name = "pytorch"

    def __init__(self, network: nn.Module, calls: FamilyCalls, device: torch.device, precision: str = "fp32"):
        self.calls = calls
        self.device = device
        self.precision = precision
        self.dtype = PRECISION_DTYPES[precision]
        self.network = converted_network(network, precision, calls.keep_fp32)
        self._state: tuple = ()

    def _cast(self, tensor: torch.Tensor | None) -> torch.Tensor | None:
        if tensor is None or not tensor.is_floating_point() or tensor.dtype == self.dtype:
            return tensor
        return tensor.to(self.dtype)

    def set_template(self, *inputs: torch.Tensor | None) -> None:
        """Run the template part once per sequence and keep its state."""
        with torch.inference_mode():
            self._state = tuple(self.calls.template_call(self.network, *(self._cast(t) for t in inputs)))

    def track(self, search: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The family's outputs for one search crop, as float32 (the post-processing runs in float32)."""
        with torch.inference_mode():
            outputs = self.calls.track_call(self.network, self._cast(search), *self._state)
            return tuple(o.float() for o in outputs)


class OrtBackend:
    """The exported ONNX graphs in ONNX Runtime (float32).

    Args:
        path: the track graph (its template graph, if the family has one, lies next to it).
        calls: the family's calls (for its name).
        device: the tracker's device; ONNX Runtime uses CUDA there when its CUDA provider is installed.
        expected: metadata the files must carry (family, network hash, checkpoint hash; see deploy_metadata).
    """

    name = "onnxruntime"
    precision = "fp32"
    network = None

    def __init__(self, path: str | os.PathLike, calls: FamilyCalls, device: torch.device,
                 expected: Mapping[str, str]):
        self.path = Path(path)
        self.device = device
        if not self.path.is_file():
            raise BackendError(f"--onnx {self.path}: no such file. Export the network first: python "
                               f"tracking/export_onnx.py {calls.script} <config> --output {self.path}.")
        threads = torch.get_num_threads()
        self.track_session = ort_session(self.path, threads, device)
        meta = self.track_session.get_modelmeta().custom_metadata_map
        _check(self.path, meta, expected)
        self.template_session = None
        if meta.get("template_graph"):
            template = self.path.parent / meta["template_graph"]
            if not template.is_file():
                raise BackendError(f"the ONNX file {self.path} needs its template graph {template}, which is missing; "
                                   f"export again with tracking/export_onnx.py (it writes both files).")
            self.template_session = ort_session(template, threads, device)
            _check(template, self.template_session.get_modelmeta().custom_metadata_map, expected)
        self.state_names = meta.get("inputs", "").split(",")[1:]
        self.search_shape = tuple(self.track_session.get_inputs()[0].shape)
        self._feeds: dict[str, Any] = {}

    def set_template(self, *inputs: torch.Tensor | None) -> None:
        arrays = [t.detach().cpu().numpy() for t in inputs if t is not None]
        if self.template_session is not None:
            names = [i.name for i in self.template_session.get_inputs()]
            arrays = self.template_session.run(None, dict(zip(names, arrays)))
        self._feeds = dict(zip(self.state_names, arrays))

    def track(self, search: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if tuple(search.shape) != self.search_shape:
            raise BackendError(f"the ONNX graph {self.path} was exported for search crops of shape "
                               f"{self.search_shape}, the tracker feeds {tuple(search.shape)}; export it again for "
                               f"this search size (or use --backend pytorch).")
        outputs = self.track_session.run(None, {"search": search.detach().cpu().numpy(), **self._feeds})
        return tuple(torch.from_numpy(o).to(self.device) for o in outputs)


def _check(path: Path, meta: Mapping[str, str], expected: Mapping[str, str]) -> None:
    problem = metadata_mismatch(path, meta, expected)
    if problem:
        raise BackendError(problem)


def set_runtime_options(params: TrackerParams, backend: str = "pytorch", precision: str = "fp32",
                        onnx: str | os.PathLike | None = None) -> TrackerParams:
    """Record the backend choice in ``params`` (checked here, so a typo fails before any work); returns params."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r} is not a backend; expected one of {', '.join(BACKENDS)}.")
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision {precision!r} is not a precision; expected one of {', '.join(PRECISIONS)}.")
    if onnx is not None and backend != "onnxruntime":
        raise ConfigError("--onnx names the graph the onnxruntime backend runs; add --backend onnxruntime.")
    params.backend, params.precision = backend, precision
    params.onnx = str(onnx) if onnx is not None else None
    return params


def default_onnx_path(save_dir: str | os.PathLike, tracker_name: str, config_name: str) -> Path:
    """Where tracking/export_onnx.py writes by default: ``<save_dir>/onnx/<tracker>/<config>.onnx``."""
    return Path(save_dir) / "onnx" / tracker_name / f"{config_name}.onnx"


def create_backend(params: TrackerParams, calls: FamilyCalls, device: torch.device, network: nn.Module | None,
                   load_network: Callable[[], nn.Module]) -> TorchBackend | OrtBackend:
    """The backend ``params`` asks for (default: PyTorch, fp32).

    Args:
        params: test parameters; ``backend``, ``precision`` and ``onnx`` are read when present.
        calls: the family's calls.
        device: where the network runs.
        network: an already built network (tests, benchmarks), else ``load_network()`` builds and loads it.
        load_network: the family's cached loader (not called for ONNX Runtime).
    """
    kind = params.get("backend", "pytorch")
    if kind not in BACKENDS:
        raise ConfigError(f"backend {kind!r} is not a backend; expected one of {', '.join(BACKENDS)}.")
    precision = resolve_precision(params.get("precision", "fp32"), device, kind)
    if kind == "onnxruntime":
        onnx = params.get("onnx", None)
        if onnx is None:
            raise BackendError(f"the onnxruntime backend needs an ONNX file: pass --onnx FILE, written by "
                               f"tracking/export_onnx.py {calls.script} {params.get('yaml_name', '<config>')}.")
        return OrtBackend(onnx, calls, device, deploy_metadata(params, calls))
    network = network.to(device).eval() if network is not None else load_network()
    return TorchBackend(network, calls, device, precision)


@dataclass
class ExportResult:
    """The written files and, per output on the check's random inputs, max |ONNX Runtime - PyTorch| and the
    output's magnitude max |PyTorch| (the tolerance is relative to it too)."""

    paths: list[Path]
    checks: dict[str, tuple[float, float]]

    @property
    def max_abs_diff(self) -> dict[str, float]:
        return {name: diff for name, (diff, _) in self.checks.items()}

    def summary(self) -> str:
        """'name max|diff| (of max|output|), ...' for printing."""
        return ", ".join(f"{name} {diff:.1e} (of {size:.2g})" for name, (diff, size) in self.checks.items())


def export_tracker(tracker: Any, output: str | os.PathLike, opset: int = DEFAULT_OPSET, seed: int = 0,
                   atol: float = 1e-4, exporter: str = "torchscript") -> ExportResult:
    """Export a tracker's network (PyTorch backend, fp32) to ONNX and check it against PyTorch.

    Args:
        tracker: a tracker with ``backend`` (a float32 TorchBackend), ``params`` and ``example_inputs(generator)``.
        output: the track graph's file; the template graph (Siamese families) goes next to it.
        opset: ONNX opset.
        seed: seed of the random check inputs.
        atol: tolerance of the check (plus the same relative to each output's magnitude).
        exporter: torch.onnx's "torchscript" (default, fast) or "dynamo" exporter.

    Raises:
        ExportError: the export failed or an output differs from PyTorch's beyond the tolerance.
    """
    backend = tracker.backend
    if not isinstance(backend, TorchBackend) or backend.precision != "fp32":
        raise ConfigError("export needs the tracker's PyTorch backend in fp32 (the graph is exported in float32).")
    calls = backend.calls
    graphs = deploy_graphs(calls.script, backend.network)
    template_inputs, search = tracker.example_inputs(torch.Generator().manual_seed(seed))
    metadata = deploy_metadata(tracker.params, calls)
    metadata["template_graph"] = template_graph_path(output).name if graphs.template is not None else ""
    paths = export_onnx(graphs, template_inputs, search, output, metadata, opset, exporter)
    diffs = check_onnx(graphs, paths, template_inputs, search, atol=atol, rtol=atol)
    return ExportResult(paths, diffs)
