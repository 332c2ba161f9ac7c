"""Trainers own the loop: epochs, steps, AMP, checkpoints; hooks own side effects; statistics live in the storage."""

from lib.train.trainers.base_trainer import BaseTrainer, NonFiniteLossError
from lib.train.trainers.checkpoint import Checkpointer, is_cadence_epoch
from lib.train.trainers.hooks import (CheckpointHook, EpochStatsHook, HookBase, LRSchedulerHook, StepMonitorHook,
                                      ValidationHook, WandbHook)
from lib.train.trainers.ltr_trainer import LTRTrainer
from lib.train.trainers.storage import TrainingStorage

__all__ = ["BaseTrainer", "LTRTrainer", "NonFiniteLossError", "Checkpointer", "is_cadence_epoch", "HookBase",
           "ValidationHook", "EpochStatsHook", "StepMonitorHook", "LRSchedulerHook", "CheckpointHook", "WandbHook",
           "TrainingStorage"]
