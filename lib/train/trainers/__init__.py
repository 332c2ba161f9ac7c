"""Trainers own the loop: epochs, steps, AMP, checkpoints, statistics."""

from lib.train.trainers.base_trainer import BaseTrainer, NonFiniteLossError
from lib.train.trainers.checkpoint import Checkpointer, is_cadence_epoch
from lib.train.trainers.hooks import (CheckpointHook, EpochStatsHook, HookBase, LRSchedulerHook, ValidationHook,
                                      WandbHook)
from lib.train.trainers.ltr_trainer import LTRTrainer

__all__ = ["BaseTrainer", "LTRTrainer", "NonFiniteLossError", "Checkpointer", "is_cadence_epoch", "HookBase",
           "ValidationHook", "EpochStatsHook", "LRSchedulerHook", "CheckpointHook", "WandbHook"]
