"""Value and cross-key checks of a SiamFC++ config, run when a YAML is loaded (the schema's ``validate``).

Types and unknown keys are checked by the core merge; here come ranges, list lengths and the relations that
video_analyst derived in several places without comparing them: the head's score map against the target maker's
and the tracker's (quirk Q10), batch sizes and iteration counts shared by data, trainer and optimizer, and an LR
schedule that covers every epoch (quirk Q12). A branch (``test.track`` / ``train.track``) is checked when its
``exp_name`` is set, as video_analyst's ``specify_task`` selects it. Each error names the file, the key, the
value and what is expected.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

from lib.utils.errors import ConfigError

__all__ = ["validate", "parse_json_entries", "expected_score_size", "BACKBONE_NAMES", "LOSS_NAMES", "TESTER_NAMES",
           "DATASET_NAMES", "TRANSFORMER_NAMES", "MONITOR_NAMES", "LR_POLICY_KEYS"]

# the component names of the registries (lib.models.siamfcpp.BACKBONES etc.; a test checks they agree)
BACKBONE_NAMES = ("AlexNet", "Inception3", "ShuffleNetV2_x1_0", "ShuffleNetV2_x0_5")
LOSS_NAMES = ("FocalLoss", "SigmoidCrossEntropyRetina", "SigmoidCrossEntropyCenterness", "IOULoss")
TESTER_NAMES = ("GOT10kTester", "LaSOTTester", "TrackingNetTester", "OTBTester", "VOTTester")
DATASET_NAMES = ("GOT10kDataset", "GOT10kDatasetFixed", "LaSOTDataset", "TrackingNetDataset", "VIDDataset",
                 "DETDataset", "COCODataset")
TRANSFORMER_NAMES = ("RandomCropTransformer",)
MONITOR_NAMES = ("TextInfo", "TensorboardLogger")

# keys of each LR policy's JSON object besides "name"
LR_POLICY_KEYS = {"LinearLR": ("start_lr", "end_lr", "max_epoch"), "CosineLR": ("start_lr", "end_lr", "max_epoch"),
                  "ExponentialLR": ("start_lr", "end_lr", "max_epoch"), "MultiStageLR": ("lr_stages",)}


def expected_score_size(x_size: int, z_size: int, total_stride: int, num_conv3x3: int) -> int:
    """The score-map side the network gives: (x_size - z_size) // stride + 1 - 2 * num_conv3x3 (spec 5.1)."""
    return (x_size - z_size) // total_stride + 1 - 2 * num_conv3x3


class _Checks:
    """Check helpers bound to one config, branch prefix and file name."""

    def __init__(self, cfg: Mapping[str, Any], source: str):
        self.cfg = cfg
        self.source = source

    def get(self, key: str) -> Any:
        node: Any = self.cfg
        for part in key.split("."):
            node = node[part]
        return node

    def fail(self, key: str, value: Any, expected: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key} = {value!r} is invalid; expected {expected}.")

    def check(self, key: str, ok: bool, expected: str) -> None:
        if not ok:
            raise self.fail(key, self.get(key), expected)

    def at_least(self, key: str, low: float) -> None:
        self.check(key, self.get(key) >= low, f"a value >= {low}")

    def positive(self, key: str) -> None:
        self.check(key, self.get(key) > 0, "a value > 0")

    def within(self, key: str, low: float, high: float, high_open: bool = False) -> None:
        value = self.get(key)
        ok = low <= value < high if high_open else low <= value <= high
        self.check(key, ok, f"a value in [{low}, {high}{')' if high_open else ']'}")

    def same(self, key: str, other: str, why: str) -> None:
        if self.get(key) != self.get(other):
            raise ConfigError(f"{self.source}: {key} = {self.get(key)!r} differs from {other} = {self.get(other)!r}; "
                              f"expected equal values ({why}).")

    def names(self, key: str, known: Sequence[str], allow_empty: bool = True) -> None:
        value = list(self.get(key))
        unknown = [n for n in value if n not in known]
        if unknown:
            raise self.fail(key, value, f"names among {', '.join(known)} (unknown: {', '.join(map(str, unknown))})")
        if not allow_empty and not value:
            raise self.fail(key, value, f"at least one of {', '.join(known)}")
        if len(set(value)) != len(value):
            raise self.fail(key, value, "each name once")


def parse_json_entries(values: Sequence[str], key: str, source: str, required: Sequence[str]) -> list[dict]:
    """Parse a list of JSON-object strings (video_analyst's LR policies, LR multipliers, freeze schedule).

    Raises:
        ConfigError: an entry is not a JSON object string or lacks one of ``required``.
    """
    entries = []
    for index, text in enumerate(values):
        try:
            entry = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError as err:
            raise ConfigError(f"{source}: {key}[{index}] is not valid JSON ({err}): {text!r}. Each entry is a JSON "
                              f"object written as a folded YAML string ('- >' then the object).") from None
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: {key}[{index}] = {text!r} is invalid; expected a JSON object string "
                              f"with the keys {', '.join(required)}.")
        _require_keys(entry, required, f"{key}[{index}]", source)
        entries.append(entry)
    return entries


def _require_keys(entry: dict, required: Sequence[str], key: str, source: str) -> None:
    missing = [k for k in required if k not in entry]
    if missing:
        raise ConfigError(f"{source}: {key} = {json.dumps(entry)} lacks {', '.join(missing)}; expected the keys "
                          f"{', '.join(required)}.")


def _check_regex(entries: list[dict], key: str, source: str) -> None:
    for index, entry in enumerate(entries):
        try:
            re.compile(entry["regex"])
        except (re.error, TypeError) as err:
            raise ConfigError(f"{source}: {key}[{index}] has the regex {entry['regex']!r}, which does not compile "
                              f"({err}); expected a Python regular expression over parameter names.") from None


def _selected(c: _Checks, key: str, known: Sequence[str]) -> None:
    c.check(key, c.get(key) in known, f"one of {', '.join(known)} (the branch's exp_name is set, so it is used)")


def _check_model(c: _Checks, b: str, z_size_key: str) -> None:
    _selected(c, f"{b}.model.backbone.name", BACKBONE_NAMES)
    _selected(c, f"{b}.model.task_head.name", ("DenseboxHead",))
    _selected(c, f"{b}.model.task_model.name", ("SiamTrack",))
    head = f"{b}.model.task_head.DenseboxHead"
    for leaf in ("total_stride", "x_size", "score_size", "head_width"):
        c.positive(f"{head}.{leaf}")
    c.at_least(f"{head}.num_conv3x3", 0)
    c.positive(f"{head}.conv_weight_std")
    c.check(f"{head}.head_conv_bn", len(c.get(f"{head}.head_conv_bn")) == c.get(f"{head}.num_conv3x3"),
            f"one entry per tower convolution (num_conv3x3 = {c.get(f'{head}.num_conv3x3')})")
    c.positive(z_size_key)
    x_size, z_size = c.get(f"{head}.x_size"), c.get(z_size_key)
    c.check(f"{head}.x_size", x_size > z_size, f"a search size larger than the template size {z_size_key} = {z_size}")
    if not c.get(f"{head}.input_size_adapt"):
        expected = expected_score_size(x_size, z_size, c.get(f"{head}.total_stride"), c.get(f"{head}.num_conv3x3"))
        c.check(f"{head}.score_size", expected > 0 and c.get(f"{head}.score_size") == expected,
                f"{expected}, the score map the network gives for x_size {x_size}: (x_size - {z_size}) // "
                f"total_stride + 1 - 2 * num_conv3x3 (or turn on input_size_adapt)")
    task = f"{b}.model.task_model.SiamTrack"
    c.positive(f"{task}.conv_weight_std")
    c.same(f"{task}.head_width", f"{head}.head_width", "the neck feeds the head")
    backbone = c.get(f"{b}.model.backbone.name")
    if backbone.startswith("ShuffleNetV2"):
        c.same(f"{b}.model.backbone.{backbone}.head_width", f"{head}.head_width", "the backbone output feeds the neck")
    if backbone in ("Inception3", "ShuffleNetV2_x1_0", "ShuffleNetV2_x0_5"):
        c.at_least(f"{b}.model.backbone.{backbone}.crop_pad", 0)
    c.names(f"{b}.model.losses.names", LOSS_NAMES)
    loss_names = []
    for name in c.get(f"{b}.model.losses.names"):
        node = f"{b}.model.losses.{name}"
        c.at_least(f"{node}.weight", 0)
        if name in ("FocalLoss", "SigmoidCrossEntropyRetina"):
            c.within(f"{node}.alpha", 0, 1)
            c.at_least(f"{node}.gamma", 0)
        loss_names.append(c.get(f"{node}.name"))
    if len(set(loss_names)) != len(loss_names):
        raise c.fail(f"{b}.model.losses.names", list(c.get(f"{b}.model.losses.names")),
                     f"losses with distinct `name` fields (they key the loss dict), got {loss_names}")


def _check_test(c: _Checks, b: str) -> None:
    tracker = f"{b}.pipeline.SiamFCppTracker"
    head = f"{b}.model.task_head.DenseboxHead"
    _selected(c, f"{b}.pipeline.name", ("SiamFCppTracker",))
    _check_model(c, b, f"{tracker}.z_size")
    why = "the tracker derives the score map from its own sizes, the head builds its grid from its own (quirk Q10)"
    for leaf in ("x_size", "num_conv3x3", "total_stride"):
        c.same(f"{tracker}.{leaf}", f"{head}.{leaf}", why)
    for leaf in ("test_lr", "window_influence"):
        c.within(f"{tracker}.{leaf}", 0, 1)
    c.at_least(f"{tracker}.penalty_k", 0)
    c.at_least(f"{tracker}.context_amount", 0)
    c.positive(f"{tracker}.min_w")
    c.positive(f"{tracker}.min_h")
    c.names(f"{b}.tester.names", TESTER_NAMES)
    for name in c.get(f"{b}.tester.names"):
        c.at_least(f"{b}.tester.{name}.device_num", 0)


def _check_lr(c: _Checks, b: str, max_epoch_key: str) -> None:
    sgd = f"{b}.optim.optimizer.SGD"
    c.positive(f"{sgd}.lr")
    c.within(f"{sgd}.momentum", 0, 1, high_open=True)
    c.at_least(f"{sgd}.weight_decay", 0)
    key = f"{sgd}.lr_policy"
    c.check(key, len(c.get(key)) > 0, "at least one LR policy (the schedule sets the LR of every iteration)")
    total = 0
    for index, entry in enumerate(parse_json_entries(c.get(key), key, c.source, ("name",))):
        name = entry["name"]
        if name not in LR_POLICY_KEYS:
            raise c.fail(f"{key}[{index}]", entry, f"a policy named one of {', '.join(LR_POLICY_KEYS)}")
        _require_keys(entry, LR_POLICY_KEYS[name], f"{key}[{index}]", c.source)
        if name == "MultiStageLR":
            stages = entry["lr_stages"]
            if not stages or any(len(s) != 2 or s[1] < 0 for s in stages):
                raise c.fail(f"{key}[{index}].lr_stages", stages, "a non-empty list of [epoch_limit, lr >= 0]")
            total += max(s[0] for s in stages)
            continue
        if not (isinstance(entry["max_epoch"], int) and entry["max_epoch"] >= 1):
            raise c.fail(f"{key}[{index}].max_epoch", entry["max_epoch"], "an integer >= 1")
        low = 0 if name != "ExponentialLR" else 1e-300
        if entry["start_lr"] < low or entry["end_lr"] < low:
            raise c.fail(f"{key}[{index}]", entry, f"start_lr and end_lr >= {low} (> 0 for ExponentialLR)")
        total += entry["max_epoch"]
    if total < c.get(max_epoch_key):
        raise ConfigError(f"{c.source}: {key} covers {total} epochs but {max_epoch_key} = {c.get(max_epoch_key)}; "
                          f"expected a schedule of at least max_epoch epochs (video_analyst silently reused the "
                          f"last policy's start LR past the end, quirk Q12).")
    key = f"{sgd}.lr_multiplier"
    multipliers = parse_json_entries(c.get(key), key, c.source, ("name", "regex", "ratio"))
    _check_regex(multipliers, key, c.source)
    for index, entry in enumerate(multipliers):
        if not (isinstance(entry["ratio"], (int, float)) and entry["ratio"] >= 0):
            raise c.fail(f"{key}[{index}].ratio", entry["ratio"], "a number >= 0")
    if c.get(f"{b}.optim.grad_modifier.name") == "DynamicFreezer":
        key = f"{b}.optim.grad_modifier.DynamicFreezer.schedule"
        schedule = parse_json_entries(c.get(key), key, c.source, ("regex", "epoch", "freezed"))
        _check_regex(schedule, key, c.source)
        for index, entry in enumerate(schedule):
            if not (isinstance(entry["epoch"], int) and entry["epoch"] >= 0) or not isinstance(entry["freezed"], bool):
                raise c.fail(f"{key}[{index}]", entry, "an integer epoch >= 0 and a boolean freezed")


def _check_train(c: _Checks, b: str) -> None:
    target = f"{b}.data.target.DenseboxTarget"
    head = f"{b}.model.task_head.DenseboxHead"
    for key, known in (("data.datapipeline.name", ("RegularDatapipeline",)),
                       ("data.sampler.name", ("TrackPairSampler",)), ("data.target.name", ("DenseboxTarget",)),
                       ("optim.optimizer.name", ("SGD",)),
                       ("trainer.name", ("RegularTrainer", "DistributedRegularTrainer"))):
        _selected(c, f"{b}.{key}", known)
    _check_model(c, b, f"{target}.z_size")
    why = "the target maker derives the score map from its own sizes, the head builds its grid from its own (Q10)"
    for leaf in ("x_size", "num_conv3x3", "total_stride"):
        c.same(f"{target}.{leaf}", f"{head}.{leaf}", why)
    c.positive(f"{b}.num_processes")
    c.at_least(f"{b}.framework.grad_clip_norm", 0)
    c.positive(f"{b}.framework.print_interval")
    c.at_least(f"{b}.framework.max_nonfinite_steps", 0)
    data = f"{b}.data"
    c.positive(f"{data}.num_epochs")
    c.positive(f"{data}.minibatch")
    c.at_least(f"{data}.num_workers", 0)
    c.check(f"{data}.nr_image_per_epoch", c.get(f"{data}.nr_image_per_epoch") >= c.get(f"{data}.minibatch"),
            f"at least one batch per epoch (>= {data}.minibatch = {c.get(f'{data}.minibatch')})")
    c.within(f"{data}.sampler.TrackPairSampler.negative_pair_ratio", 0, 1)
    datasets = f"{data}.sampler.submodules.dataset"
    c.names(f"{datasets}.names", DATASET_NAMES, allow_empty=False)
    for name in c.get(f"{datasets}.names"):
        c.at_least(f"{datasets}.{name}.ratio", 0)
        if "max_diff" in c.get(f"{datasets}.{name}"):
            c.positive(f"{datasets}.{name}.max_diff")
    c.check(f"{datasets}.names", sum(c.get(f"{datasets}.{n}.ratio") for n in c.get(f"{datasets}.names")) > 0,
            "at least one selected dataset with a ratio > 0")
    if c.get(f"{data}.sampler.submodules.filter.name") == "TrackPairFilter":
        flt = f"{data}.sampler.submodules.filter.TrackPairFilter"
        c.positive(f"{flt}.max_ratio")
        c.within(f"{flt}.min_area_rate", 0, c.get(f"{flt}.max_area_rate"))
    c.names(f"{data}.transformer.names", TRANSFORMER_NAMES)
    if "RandomCropTransformer" in c.get(f"{data}.transformer.names"):
        crop = f"{data}.transformer.RandomCropTransformer"
        for leaf in ("x_size", "z_size"):
            c.same(f"{crop}.{leaf}", f"{target}.{leaf}", "the target maker labels the crops the transformer makes")
        for leaf in ("max_scale", "max_scale_temp"):
            c.within(f"{crop}.{leaf}", 0, 1, high_open=True)
        for leaf in ("max_shift", "max_shift_temp", "context_amount"):
            c.at_least(f"{crop}.{leaf}", 0)
    trainer = f"{b}.trainer.{c.get(f'{b}.trainer.name')}"
    c.positive(f"{trainer}.max_epoch")
    c.check(f"{trainer}.max_epoch", c.get(f"{trainer}.max_epoch") <= c.get(f"{data}.num_epochs"),
            f"at most {data}.num_epochs = {c.get(f'{data}.num_epochs')} (the loader holds num_epochs epochs)")
    why = "the trainer, the optimizer's schedule and the loader must count the same iterations per epoch"
    for leaf in ("minibatch", "nr_image_per_epoch"):
        c.same(f"{trainer}.{leaf}", f"{data}.{leaf}", why)
        c.same(f"{b}.optim.optimizer.SGD.{leaf}", f"{data}.{leaf}", why)
    c.names(f"{b}.trainer.monitors.names", MONITOR_NAMES)
    _check_lr(c, b, f"{trainer}.max_epoch")


def validate(cfg: Mapping[str, Any], source: str) -> None:
    """Check the active branches of a merged SiamFC++ config; raises ConfigError on the first problem."""
    c = _Checks(cfg, source)
    active = [b for b in ("test.track", "train.track") if c.get(f"{b}.exp_name") != "unknown"]
    if not active:
        raise ConfigError(f"{source}: neither test.track.exp_name nor train.track.exp_name is set; expected at least "
                          f"one of them (a test config sets test.track, a train config train.track).")
    for b in active:
        if b == "test.track":
            _check_test(c, b)
        else:
            _check_train(c, b)
