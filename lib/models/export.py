"""ONNX export of a tracker's network, split as the tracker calls it: a template branch and a per-frame graph.

A family's network is exported as (at most) two ONNX graphs (:func:`deploy_graphs`):

* the **track** graph, run every frame: ``(search, *state) -> outputs``;
* the **template** graph, run once per sequence: ``template inputs -> state``. OSTrack has none (it is one-stream:
  its state is the template crop and CE mask themselves); the Siamese families compute the template features.

========  =======================================  ==========================  ===================================
family    template graph                           state                       track outputs
========  =======================================  ==========================  ===================================
ostrack   (none)                                   template, ce_template_mask  score_map, size_map, offset_map
siamrpn   template -> neck features                zf0, zf1, ...               cls, loc
siamban   template -> neck features                zf0, zf1, ...               cls, loc (distances, after exp)
siamfcpp  template -> correlation kernels          c_z_k, r_z_k                score, box (xyxy crop pixels)
========  =======================================  ==========================  ===================================

The graphs compute exactly what the trackers' PyTorch calls compute (the ONNX Runtime backend's test compares the
two through the tracker). :func:`export_onnx` writes them with :func:`torch.onnx.export`, records metadata
(``metadata_props``) and :func:`check_onnx` compares ONNX Runtime with PyTorch on given inputs.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from lib.models.onnx_runtime import ort_session
from lib.utils.errors import OSTrackError

__all__ = ["ExportError", "DeployGraphs", "deploy_graphs", "template_graph_path", "run_graphs", "export_onnx",
           "check_onnx", "DEFAULT_OPSET", "EXPORTERS"]

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 18

#: torch.onnx's two exporters: "torchscript" traces the module (10-20x faster to export; deprecated in torch but
#: kept in the pinned version), "dynamo" goes through torch.export (needs onnxscript)
EXPORTERS = ("torchscript", "dynamo")


class ExportError(OSTrackError):
    """A network could not be exported, or its ONNX graph does not compute what the PyTorch network computes."""


class _OSTrackTrack(nn.Module):
    """OSTrack's tracking call: (search, template[, ce_template_mask]) -> the three head maps."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, search: torch.Tensor, template: torch.Tensor,
                ce_template_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out = self.network(template=template, search=search, ce_template_mask=ce_template_mask)
        return out["score_map"], out["size_map"], out["offset_map"]  # (1, 1, fs, fs), (1, 2, ..), (1, 2, ..)


class _PySOTTemplate(nn.Module):
    """SiamRPN++ / SiamBAN ``template()`` without the stored state: template crop -> neck features."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, template: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.network._features(template)  # one map (AlexNet) or one per level
        return tuple(features) if isinstance(features, (list, tuple)) else (features,)


class _PySOTTrack(nn.Module):
    """SiamRPN++ / SiamBAN ``track()`` with the template features as inputs: (search, *zf) -> (cls, loc)."""

    def __init__(self, network: nn.Module, multi_level: bool):
        super().__init__()
        self.network = network
        self.multi_level = multi_level

    def forward(self, search: torch.Tensor, *zf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        xf = self.network._features(search)
        cls, loc = self.network._head(list(zf) if self.multi_level else zf[0], xf)
        return cls, loc


class _SiamFCppTemplate(nn.Module):
    """SiamFC++'s "feature" phase: template crop -> (c_z_k, r_z_k)."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, template: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return tuple(self.network(template, phase="feature"))


class _SiamFCppTrack(nn.Module):
    """SiamFC++'s "track" phase: (search, c_z_k, r_z_k) -> (score (1, S*S, 1), box (1, S*S, 4))."""

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, search: torch.Tensor, c_z_k: torch.Tensor, r_z_k: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        score, box = self.network(search, c_z_k, r_z_k, phase="track")[:2]
        return score, box


@dataclass
class DeployGraphs:
    """The graphs of one family's network.

    Attributes:
        family: the tracker name ('ostrack', 'siamrpn', ...).
        template: template inputs -> state, or None when the state is the template inputs themselves.
        track: (search, *state) -> outputs.
        template_inputs: input names of the template graph (or of the state, when there is no template graph).
        outputs: output names of the track graph.
        state_prefix: state names are ``state_names`` or, when empty, ``<prefix><i>`` for each template output.
    """

    family: str
    template: nn.Module | None
    track: nn.Module
    template_inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    state_names: tuple[str, ...] = ()
    state_prefix: str = "state"

    def names_of_state(self, count: int) -> tuple[str, ...]:
        """Names of ``count`` state tensors."""
        if self.state_names:
            return self.state_names[:count]
        return tuple(f"{self.state_prefix}{i}" for i in range(count))


def deploy_graphs(family: str, network: nn.Module) -> DeployGraphs:
    """The template and track graphs of ``network`` (eval mode) for a tracker family.

    Raises:
        ExportError: an unknown family.
    """
    graphs = _graphs(family, network)
    # in eval mode like the network: the exporters restore a module's own mode afterwards, and a wrapper left in
    # its default train mode would switch the wrapped network to train mode (BatchNorm on batch statistics)
    for module in (graphs.template, graphs.track):
        if module is not None:
            module.eval()
    return graphs


def _graphs(family: str, network: nn.Module) -> DeployGraphs:
    if family == "ostrack":
        return DeployGraphs(family, None, _OSTrackTrack(network), ("template", "ce_template_mask"),
                            ("score_map", "size_map", "offset_map"), state_names=("template", "ce_template_mask"))
    if family in ("siamrpn", "siamban"):
        head = network._head
        multi = hasattr(head, "forward_levels")  # MultiRPN / MultiBAN take one map per level
        return DeployGraphs(family, _PySOTTemplate(network), _PySOTTrack(network, multi), ("template",),
                            ("cls", "loc"), state_prefix="zf")
    if family == "siamfcpp":
        return DeployGraphs(family, _SiamFCppTemplate(network), _SiamFCppTrack(network), ("template",),
                            ("score", "box"), state_names=("c_z_k", "r_z_k"))
    raise ExportError(f"no ONNX graphs are defined for the tracker family {family!r}; known families: ostrack, "
                      f"siamrpn, siamban, siamfcpp.")


def template_graph_path(path: str | Path) -> Path:
    """Where the template graph of the track graph ``path`` goes: ``model.onnx`` -> ``model.template.onnx``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.template{path.suffix or '.onnx'}")


def run_graphs(graphs: DeployGraphs, template_inputs: Sequence[torch.Tensor | None], search: torch.Tensor
               ) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    """PyTorch reference: (state, outputs) for the given inputs (None inputs are left out)."""
    inputs = tuple(t for t in template_inputs if t is not None)
    with torch.no_grad():  # not inference mode: the state may become the exporter's example inputs
        state = tuple(graphs.template(*inputs)) if graphs.template is not None else inputs
        outputs = tuple(graphs.track(search, *state))
    return state, outputs


def _export_one(module: nn.Module, args: tuple, path: Path, input_names: Sequence[str],
                output_names: Sequence[str], opset: int, metadata: Mapping[str, str], exporter: str) -> None:
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the onnx package (and onnxscript for the dynamo exporter): "
                          "pip install onnx onnxscript onnxruntime (the install's export extra).") from None
    if exporter not in EXPORTERS:
        raise ExportError(f"exporter {exporter!r} is not one of {', '.join(EXPORTERS)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"dynamo": True, "external_data": False, "verbose": False} if exporter == "dynamo" else {"dynamo": False}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporters' deprecation and tracer chatter is not the user's concern
        try:
            torch.onnx.export(module, args, str(path), input_names=list(input_names), output_names=list(output_names),
                              opset_version=opset, **options)
        except Exception as err:  # noqa: BLE001 - any exporter failure becomes one clear message
            raise ExportError(f"torch.onnx.export ({exporter}) failed for the {type(module).__name__} graph with "
                              f"opset {opset} ({type(err).__name__}: {str(err)[:1500]}). Try another --opset (e.g. "
                              f"17) or --exporter.") from None
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {**{k: str(v) for k, v in metadata.items()}, "opset": str(opset),
                                        "exporter": exporter})
    onnx.save(model, str(path))


def export_onnx(graphs: DeployGraphs, template_inputs: Sequence[torch.Tensor | None], search: torch.Tensor,
                path: str | Path, metadata: Mapping[str, str], opset: int = DEFAULT_OPSET,
                exporter: str = "torchscript") -> list[Path]:
    """Write the track graph to ``path`` and the template graph (if any) next to it; returns the written paths.

    Args:
        graphs: from :func:`deploy_graphs`.
        template_inputs: example template inputs (None entries, e.g. no CE mask, are left out of the graph).
        search: an example search crop (1, 3, S, S) as the tracker feeds it.
        path: the track graph's file (``.onnx``).
        metadata: recorded as ``metadata_props`` in every file (config and checkpoint hashes, family, ...).
        opset: the ONNX opset.
        exporter: one of :data:`EXPORTERS`.
    """
    path = Path(path)
    state, _ = run_graphs(graphs, template_inputs, search)
    present = [name for name, t in zip(graphs.template_inputs, template_inputs) if t is not None]
    state_names = present if graphs.template is None else list(graphs.names_of_state(len(state)))
    written = []
    if graphs.template is not None:
        inputs = tuple(t for t in template_inputs if t is not None)
        template_path = template_graph_path(path)
        _export_one(graphs.template, inputs, template_path, present, state_names, opset,
                    {**metadata, "branch": "template", "inputs": ",".join(present), "outputs": ",".join(state_names)},
                    exporter)
        written.append(template_path)
    _export_one(graphs.track, (search, *state), path, ["search", *state_names], graphs.outputs, opset,
                {**metadata, "branch": "track", "inputs": ",".join(["search", *state_names]),
                 "outputs": ",".join(graphs.outputs)}, exporter)
    written.insert(0, path)
    return written


def check_onnx(graphs: DeployGraphs, paths: Sequence[Path], template_inputs: Sequence[torch.Tensor | None],
               search: torch.Tensor, atol: float = 1e-4, rtol: float = 1e-4) -> dict[str, tuple[float, float]]:
    """Run the exported graphs in ONNX Runtime and compare every output with PyTorch on the same inputs.

    Returns:
        output name -> (max |ONNX Runtime - PyTorch|, max |PyTorch|) (the template graph's outputs included).

    Raises:
        ExportError: an output differs by more than ``atol + rtol * max|PyTorch output|``.
    """
    state, outputs = run_graphs(graphs, template_inputs, search)
    track = ort_session(paths[0], threads=torch.get_num_threads())
    diffs: dict[str, tuple[float, float]] = {}
    feeds_state = [t.numpy() for t in state]
    if graphs.template is not None:
        template = ort_session(paths[1], threads=torch.get_num_threads())
        inputs = [t.numpy() for t in template_inputs if t is not None]
        ort_state = template.run(None, {i.name: v for i, v in zip(template.get_inputs(), inputs)})
        names = graphs.names_of_state(len(state))
        diffs.update(_compare(names, ort_state, state, atol, rtol))
    feeds = [search.numpy(), *feeds_state]
    ort_out = track.run(None, {i.name: v for i, v in zip(track.get_inputs(), feeds)})
    diffs.update(_compare(graphs.outputs, ort_out, outputs, atol, rtol))
    return diffs


def _compare(names: Sequence[str], got: Sequence[np.ndarray], expected: Sequence[torch.Tensor], atol: float,
             rtol: float) -> dict[str, tuple[float, float]]:
    diffs = {}
    for name, g, e in zip(names, got, expected):
        e = e.float().numpy()
        if g.shape != e.shape:
            raise ExportError(f"the ONNX output {name} has shape {g.shape}, PyTorch's {e.shape}.")
        g = g.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            delta = np.abs(g - e)
        # the same infinity (an exp that overflows in both) or NaN in both is agreement
        delta[(g == e) | (np.isnan(g) & np.isnan(e))] = 0.0
        diff = float(delta.max()) if e.size else 0.0
        finite = np.abs(e[np.isfinite(e)])
        magnitude = float(finite.max()) if finite.size else 0.0
        bound = atol + rtol * magnitude
        if not diff <= bound:  # also catches NaN
            raise ExportError(f"the ONNX graph's output {name} differs from PyTorch's by max |diff| {diff:.3g} on "
                              f"the same random inputs, above the tolerance {bound:.3g}; the exported graph does not "
                              f"compute what the network computes (an unsupported op or a shape-dependent branch).")
        diffs[name] = (diff, magnitude)
    return diffs
