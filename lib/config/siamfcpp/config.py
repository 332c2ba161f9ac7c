"""SiamFC++ configuration: video_analyst's defaults tree, strict YAML merge, value checks, frozen result.

Usage::

    cfg = load_config("siamfcpp_alexnet")                 # experiments/siamfcpp/<name>.yaml, or a .yaml path
    cfg.test.track.model.task_head.DenseboxHead.x_size     # 303
    train_cfg = load_config("siamfcpp_alexnet-trn").train.track

The tree keeps video_analyst's structure and key names (spec 3.1-3.2): ``task_name``, then ``test.track`` (exp_name,
exp_save, model, pipeline, tester, data) and ``train.track`` (plus num_processes, device, optim, trainer). Every
component selector (``name``, or ``names`` for lists) sits next to one node per registered component holding its
``default_hyper_params``; a YAML may only set keys that exist here, as with yacs in the original.

Differences from video_analyst, each deliberate: the component nodes exist only for the components this framework
has (the ``vos`` task and the tracker variants are left out); ``data.datapipeline.submodules`` is not declared
(quirk Q33: the original assigned it twice and never read it); values are checked when the file is loaded
(sizes, score-map consistency between head, target and tracker, batch, epochs, LR schedule, workers; see
:mod:`lib.config.siamfcpp.validation`), where the original failed late or trained on silently misaligned targets
(quirk Q10) or past the end of its LR schedule (quirk Q12).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from lib.config import core
from lib.config.core import EXPERIMENTS_DIR, CfgNode, ConfigSchema, save_config
from lib.config.siamfcpp import validation
from lib.config.siamfcpp.validation import BACKBONE_NAMES

__all__ = ["SCHEMA", "get_defaults", "load_config", "merge_config", "save_config", "list_configs", "config_path",
           "EXPERIMENTS_DIR", "CfgNode"]

SCRIPT = "siamfcpp"
BRANCHES = ("test.track", "train.track")


def _model() -> dict:
    focal = {"name": "focal_loss", "weight": 1.0, "alpha": 0.5, "gamma": 0.0, "background": 0, "ignore_label": -1}
    shufflenet = {"pretrain_model_path": "", "crop_pad": 4, "head_width": 256}
    return {
        "backbone": {
            "name": "",
            # width_mult: framework addition (1.0 = video_analyst's AlexNet), for small CPU models
            "AlexNet": {"pretrain_model_path": "", "width_mult": 1.0},
            "Inception3": {"pretrain_model_path": "", "crop_pad": 4, "pruned": True},
            "ShuffleNetV2_x1_0": dict(shufflenet),
            "ShuffleNetV2_x0_5": dict(shufflenet),
        },
        "losses": {
            "names": [],
            "FocalLoss": dict(focal),
            "SigmoidCrossEntropyRetina": dict(focal, name="focal_ce"),
            "SigmoidCrossEntropyCenterness": {"name": "centerness", "weight": 1.0, "background": 0,
                                              "ignore_label": -1},
            "IOULoss": {"name": "iou_loss", "weight": 1.0, "background": 0, "ignore_label": -1},
        },
        "task_head": {
            "name": "",
            "DenseboxHead": {"total_stride": 8, "score_size": 17, "x_size": 303, "num_conv3x3": 3,
                             "head_conv_bn": [False, False, True], "head_width": 256, "conv_weight_std": 0.0001,
                             "input_size_adapt": False},
        },
        "task_model": {
            "name": "",
            "SiamTrack": {"pretrain_model_path": "", "head_width": 256, "conv_weight_std": 0.01,
                          "neck_conv_bias": [True, True, True, True], "corr_fea_output": False, "trt_mode": False,
                          "trt_fea_model_path": "", "trt_track_model_path": "", "amp": False},
        },
        "use_sync_bn": False,
    }


def _pipeline() -> dict:
    return {
        "name": "",
        "SiamFCppTracker": {
            "total_stride": 8, "score_size": 17, "score_offset": 87, "context_amount": 0.5, "test_lr": 0.52,
            "penalty_k": 0.04, "window_influence": 0.21, "windowing": "cosine", "z_size": 127, "x_size": 303,
            "num_conv3x3": 3, "min_w": 10, "min_h": 10, "phase_init": "feature", "phase_track": "track",
            "corr_fea_output": False,
        },
    }


def _tester() -> dict:
    base = {"exp_name": "", "exp_save": "", "random_seed": 12345, "device_num": 1}
    return {
        "names": [],
        "GOT10kTester": dict(base, data_root="datasets/GOT-10k", subsets=["val"]),
        "LaSOTTester": dict(base, data_root="datasets/LaSOT", subsets=["test"]),
        "TrackingNetTester": dict(base, data_root="datasets/TrackingNet", subsets=["TEST"]),
        "OTBTester": dict(base, data_root="datasets/OTB/OTB2015", subsets=["2015"]),
        "VOTTester": dict(base, data_root={"VOT2018": "datasets/VOT/vot2018", "VOT2019": "datasets/VOT/vot2019"},
                          dataset_names=["VOT2018"], video_name_list=[]),
    }


def _data() -> dict:
    sequence = {"ratio": 1.0, "max_diff": 100}
    got10k = {"dataset_root": "datasets/GOT-10k", "subset": "train", "ratio": 1.0, "max_diff": 100,
              "check_integrity": True}
    return {
        "exp_name": "", "exp_save": "", "num_epochs": 1, "minibatch": 32, "num_workers": 4,
        "nr_image_per_epoch": 150000, "pin_memory": True,
        "datapipeline": {"name": "", "RegularDatapipeline": {}},
        "sampler": {
            "name": "",
            "TrackPairSampler": {"negative_pair_ratio": 0.0, "target_type": "bbox"},
            "submodules": {
                "dataset": {
                    "names": [],
                    "GOT10kDataset": dict(got10k),
                    "GOT10kDatasetFixed": dict(got10k),
                    "LaSOTDataset": dict(sequence, dataset_root="datasets/LaSOT", subset="train"),
                    "TrackingNetDataset": dict(sequence, dataset_root="datasets/TrackingNet", subset="train"),
                    "VIDDataset": dict(sequence, dataset_root="datasets/ILSVRC2015", subset="train"),
                    "DETDataset": {"dataset_root": "datasets/ILSVRC2015", "subset": "train", "ratio": 1.0},
                    "COCODataset": {"dataset_root": "datasets/coco2017", "subsets": ["val2017"], "ratio": 1.0,
                                    "with_mask": False},
                },
                "filter": {
                    "name": "",
                    "TrackPairFilter": {"max_area_rate": 0.6, "min_area_rate": 0.001, "max_ratio": 10,
                                        "target_type": "bbox"},
                },
            },
        },
        "transformer": {
            "names": [],
            "RandomCropTransformer": {"context_amount": 0.5, "max_scale": 0.3, "max_shift": 0.4,
                                      "max_scale_temp": 0.0, "max_shift_temp": 0.0, "z_size": 127, "x_size": 303},
        },
        "target": {
            "name": "",
            "DenseboxTarget": {"z_size": 127, "x_size": 303, "score_size": 17, "score_offset": 87, "total_stride": 8,
                               "num_conv3x3": 3},
        },
    }


def _optim() -> dict:
    return {
        "optimizer": {
            "name": "",
            "SGD": {"minibatch": 1, "nr_image_per_epoch": 1, "lr_policy": [], "lr_multiplier": [], "amp": False,
                    "lr": 0.1, "momentum": 0.9, "weight_decay": 0.00005},
        },
        "grad_modifier": {"name": "", "DynamicFreezer": {"schedule": []}},
    }


def _trainer() -> dict:
    regular = {"exp_name": "default_training", "exp_save": "snapshots", "max_epoch": 1, "minibatch": 1,
               "nr_image_per_epoch": 1, "snapshot": ""}
    return {
        "name": "",
        "RegularTrainer": dict(regular),
        "DistributedRegularTrainer": dict(regular),
        "monitors": {
            "names": [],
            "TextInfo": {},
            "TensorboardLogger": {"exp_name": "", "exp_save": "", "log_dir": ""},
        },
    }


def _framework() -> dict:
    """Keys this framework adds to the training branch (video_analyst has no such options)."""
    return {
        "grad_clip_norm": 0.0,  # 0: no clipping, as video_analyst
        "print_interval": 20,  # iterations between statistics lines in the log
        "max_nonfinite_steps": 50,  # consecutive skipped steps (non-finite loss) before the run stops
        # evaluation during training: datasets of tracking/test.py ([] = off), every `interval` epochs and after the
        # last, the first `num_sequences` sequences (0 = all); SiamTrack_best.pth.tar kept by `metric`
        "eval": {"datasets": [], "interval": 1, "num_sequences": 0, "metric": "AO"},
    }


def get_defaults() -> CfgNode:
    """video_analyst's root config for the track task (spec 3.1), unfrozen."""
    return CfgNode({
        "task_name": "unknown",
        "test": {"track": {"exp_name": "unknown", "exp_save": "unknown", "model": _model(),
                           "pipeline": _pipeline(), "tester": _tester(), "data": _data()}},
        "train": {"track": {"exp_name": "unknown", "exp_save": "unknown", "num_processes": 1, "device": "cuda",
                            "model": _model(), "pipeline": _pipeline(), "tester": _tester(), "data": _data(),
                            "optim": _optim(), "trainer": _trainer(), "framework": _framework()}},
    })


def _choices() -> dict[str, tuple]:
    per_branch = {
        "model.backbone.name": BACKBONE_NAMES,
        "model.task_head.name": ("DenseboxHead",),
        "model.task_model.name": ("SiamTrack",),
        "pipeline.name": ("SiamFCppTracker",),
        "pipeline.SiamFCppTracker.windowing": ("cosine", "uniform"),
        "pipeline.SiamFCppTracker.phase_init": ("feature",),
        "pipeline.SiamFCppTracker.phase_track": ("track",),
        "data.datapipeline.name": ("RegularDatapipeline",),
        "data.sampler.name": ("TrackPairSampler",),
        "data.sampler.TrackPairSampler.target_type": ("bbox",),
        # "" = no filter; video_analyst crashed on it (quirk Q37, fixed)
        "data.sampler.submodules.filter.name": ("", "TrackPairFilter"),
        "data.sampler.submodules.filter.TrackPairFilter.target_type": ("bbox",),
        "data.target.name": ("DenseboxTarget",),
    }
    out = {f"{branch}.{key}": values for branch in BRANCHES for key, values in per_branch.items()}
    out.update({
        "train.track.device": ("cuda", "cpu"),
        "train.track.trainer.name": ("RegularTrainer", "DistributedRegularTrainer"),
        "train.track.optim.optimizer.name": ("SGD",),
        "train.track.optim.grad_modifier.name": ("", "DynamicFreezer"),
    })
    # A selector left at its default "" (a component the branch does not use) stays valid, so that a merged and
    # saved config (the run folder's config.yaml) loads again.
    defaults = get_defaults()
    for key, values in out.items():
        node = defaults
        for part in key.split("."):
            node = node[part]
        if node == "" and "" not in values:
            out[key] = ("", *values)
    return out


SCHEMA = ConfigSchema(
    script=SCRIPT,
    defaults=get_defaults,
    numeric_keys=frozenset(f"{b}.data.sampler.submodules.filter.TrackPairFilter.max_ratio" for b in BRANCHES),
    choices=_choices(),
    open_nodes=tuple(f"{b}.tester.VOTTester.data_root" for b in BRANCHES),
    validate=validation.validate,
    defaults_file="lib/config/siamfcpp/config.py",
)

def load_config(name: str, overrides: Mapping[str, Any] | None = None) -> CfgNode:
    """Load ``experiments/siamfcpp/<name>.yaml`` (or a YAML path) over the defaults; frozen.

    Args:
        name: a config name (``siamfcpp_alexnet``, ``siamfcpp_alexnet-trn``) or a path to a YAML file.
        overrides: a nested dict merged after the file, checked the same way.

    Raises:
        ConfigError: unknown config name, unknown key (with a suggestion), wrong type, or a failed value check;
            the message names the key, the file and what is expected.
    """
    return core.load_config(SCHEMA, name, overrides)


def merge_config(cfg: CfgNode, update: Mapping[str, Any], source: str = "<overrides>") -> CfgNode:
    """Merge a nested dict into an unfrozen config with the same checks as :func:`load_config`."""
    return core.merge_config(SCHEMA, cfg, update, source)


def list_configs() -> list[str]:
    """The config names under experiments/siamfcpp/."""
    return core.list_configs(SCRIPT)


def config_path(name: str) -> Path:
    """The YAML file of a config name (or the path itself)."""
    return core.config_path(SCRIPT, name)
