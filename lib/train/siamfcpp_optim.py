"""SiamFC++'s optimisation: SGD groups by name regex, per-iteration LR policies, the dynamic freezer (spec 8).

* Parameter groups (:func:`build_param_groups`): one group per ``lr_multiplier`` entry {name, regex, ratio},
  holding every parameter whose name matches the regex (``re.search``), in ``named_parameters`` order. The shipped
  pair puts the backbone (``basemodel``) at 0.1x and everything else at 1x. Frozen parameters stay in their group
  (they get no gradient, so SGD leaves them untouched) and weight decay applies to every parameter, BatchNorm
  and biases included (matches video_analyst, quirk Q16).
* LR policies (:class:`LinearLR`, :class:`CosineLR`, :class:`ExponentialLR`, :class:`MultiStageLR` chained by
  :class:`ListLR`): the LR is a pure function of (epoch, iteration), set before every iteration's forward by
  :class:`IterationLRScheduler`. The shipped schedule warms up linearly from 1e-6 to 0.08 over epoch 0, then
  follows a cosine down to 1e-6 over 19 epochs. Past the schedule's end the original silently restarted the last
  policy at its first value, the peak LR (quirk Q12); here it is an error.
* :class:`DynamicFreezer`: at the start of each epoch every schedule entry {name, regex, epoch, freezed} sets
  ``requires_grad = (epoch >= entry.epoch) XOR freezed`` on the parameters its regex matches, later entries
  overriding earlier ones (matches video_analyst, quirk Q15); each change is logged with its old and new state
  (the original lost them, quirk Q24).

Epochs here are 0-based as in video_analyst (the framework's 1-based epoch ``e`` is ``e - 1``). Nothing here
keeps state beyond what (epoch, iteration) determines, so resuming needs only the plain-data ``state_dict``.

Entries of ``lr_policy``, ``lr_multiplier`` and ``schedule`` may be JSON strings (as in video_analyst's YAML
files) or mappings.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from lib.utils.errors import ConfigError

__all__ = ["parse_entries", "TransitionLR", "LinearLR", "ExponentialLR", "CosineLR", "MultiStageLR", "ListLR",
           "LR_POLICIES", "build_lr_policy", "build_param_groups", "make_sgd", "IterationLRScheduler",
           "DynamicFreezer", "build_siamfcpp_optimizer", "build_siamfcpp_lr_scheduler", "build_dynamic_freezer",
           "num_iterations_per_epoch"]

logger = logging.getLogger(__name__)


def parse_entries(entries: Sequence[str | Mapping], what: str) -> list[dict]:
    """Entries given as JSON object strings or mappings -> list of dicts (``what`` names the key in errors)."""
    out = []
    for k, entry in enumerate(entries):
        if isinstance(entry, Mapping):
            out.append(dict(entry))
            continue
        try:
            value = json.loads(entry)
        except (TypeError, json.JSONDecodeError) as err:
            raise ConfigError(f"{what}[{k}] must be a JSON object such as '{{\"name\": ..., ...}}', got {entry!r} "
                              f"({err}).") from None
        if not isinstance(value, dict):
            raise ConfigError(f"{what}[{k}] must be a JSON object, got {entry!r}.")
        out.append(value)
    return out


class TransitionLR:
    """LR going from ``start_lr`` to ``end_lr`` over ``max_epoch`` epochs of ``max_iter`` iterations.

    lr = post(pre(start) + (pre(end) - pre(start)) * trans(t)), t = (epoch * max_iter + iter) / (max_epoch *
    max_iter); subclasses choose pre, post and trans.

    Args:
        start_lr: LR at (0, 0).
        end_lr: LR the transition approaches at its end.
        max_epoch: length in epochs.
        max_iter: iterations per epoch.
    """

    def __init__(self, start_lr: float, end_lr: float, max_epoch: int, max_iter: int):
        if max_epoch < 1 or max_iter < 1:
            raise ConfigError(f"{type(self).__name__}: max_epoch and max_iter must be >= 1, got {max_epoch} and "
                              f"{max_iter}.")
        self.start_lr = float(start_lr)
        self.end_lr = float(end_lr)
        self.max_epoch = int(max_epoch)
        self.max_iter = int(max_iter)

    def __len__(self) -> int:
        return self.max_epoch

    def _pre(self, lr: float) -> float:
        return lr

    def _post(self, value: float) -> float:
        return value

    def _trans(self, t: float) -> float:
        return t

    def get_lr(self, epoch: int, iteration: int) -> float:
        """LR at a (local) epoch and iteration."""
        if not (0 <= epoch < self.max_epoch and 0 <= iteration < self.max_iter):
            raise ValueError(f"{type(self).__name__}: (epoch {epoch}, iteration {iteration}) is outside "
                             f"[0, {self.max_epoch}) x [0, {self.max_iter}).")
        start, end = self._pre(self.start_lr), self._pre(self.end_lr)
        t = (epoch * self.max_iter + iteration) / (self.max_epoch * self.max_iter)
        return self._post(start + (end - start) * self._trans(t))


class LinearLR(TransitionLR):
    """Linear transition."""


class ExponentialLR(TransitionLR):
    """Linear in log(lr)."""

    def _pre(self, lr: float) -> float:
        return math.log(lr)

    def _post(self, value: float) -> float:
        return math.exp(value)


class CosineLR(TransitionLR):
    """Half-cosine transition: trans(t) = (1 - cos(pi t)) / 2."""

    def _trans(self, t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2


class MultiStageLR:
    """Piecewise constant LR: the lr of the first stage [epoch_limit, lr] with epoch < epoch_limit.

    Args:
        lr_stages: [[epoch_limit, lr], ...] with increasing limits.
        max_iter: iterations per epoch (unused; accepted as the other policies take it).
    """

    def __init__(self, lr_stages: Sequence[Sequence[float]], max_iter: int = 1):
        limits = [int(s[0]) for s in lr_stages]
        if not limits or limits != sorted(limits) or limits[0] < 1:
            raise ConfigError(f"MultiStageLR: lr_stages must be [[epoch_limit, lr], ...] with increasing positive "
                              f"limits, got {list(lr_stages)}.")
        self.lr_stages = [(int(e), float(lr)) for e, lr in lr_stages]

    def __len__(self) -> int:
        return self.lr_stages[-1][0]

    def get_lr(self, epoch: int, iteration: int) -> float:
        for limit, lr in self.lr_stages:
            if 0 <= epoch < limit:
                return lr
        raise ValueError(f"MultiStageLR: epoch {epoch} is outside [0, {len(self)}).")


LR_POLICIES = {"LinearLR": LinearLR, "ExponentialLR": ExponentialLR, "CosineLR": CosineLR,
               "MultiStageLR": MultiStageLR}


class ListLR:
    """Policies one after the other; each covers ``len(policy)`` epochs.

    Args:
        policies: the policies in order.
    """

    def __init__(self, policies: Sequence[Any]):
        if not policies:
            raise ConfigError("lr_policy is empty: give at least one LR policy (e.g. LinearLR then CosineLR).")
        self.policies = list(policies)

    def __len__(self) -> int:
        return sum(len(p) for p in self.policies)

    def get_lr(self, epoch: int, iteration: int) -> float:
        """LR at a 0-based global epoch and iteration."""
        if not 0 <= epoch < len(self):
            # the original continued with the last policy at local epoch 0, i.e. the peak LR (quirk Q12, fixed)
            raise ConfigError(f"epoch {epoch} is past the end of the LR schedule, which covers {len(self)} epochs "
                              f"(0-based); make the lr_policy epochs add up to the trainer's max_epoch.")
        for policy in self.policies:
            if epoch < len(policy):
                return policy.get_lr(epoch, iteration)
            epoch -= len(policy)
        raise AssertionError("unreachable")


def build_lr_policy(entries: Sequence[str | Mapping], max_iter: int) -> ListLR:
    """A ListLR from lr_policy entries ({"name": "LinearLR", "start_lr": ..., ...}), ``max_iter`` per epoch."""
    policies = []
    for k, entry in enumerate(parse_entries(entries, "lr_policy")):
        kwargs = dict(entry)
        name = kwargs.pop("name", None)
        if name not in LR_POLICIES:
            raise ConfigError(f"lr_policy[{k}]: unknown LR policy {name!r}; known: {', '.join(LR_POLICIES)}.")
        try:
            policies.append(LR_POLICIES[name](max_iter=max_iter, **kwargs))
        except TypeError as err:
            raise ConfigError(f"lr_policy[{k}] ({name}): {err}; the entry was {entry}.") from None
    return ListLR(policies)


def build_param_groups(model: nn.Module, lr_multiplier: Sequence[str | Mapping]) -> list[dict]:
    """One SGD parameter group per lr_multiplier entry {name, regex, ratio} (all parameters if none).

    Returns:
        Dicts with ``params``, ``name``, ``lr_ratio`` and ``param_names`` (a parameter matching several regexes
        is in several groups, as in the original; the shipped regexes are complementary).
    """
    named = list(model.named_parameters())
    entries = parse_entries(lr_multiplier, "lr_multiplier")
    if not entries:
        return [{"params": [p for _, p in named], "name": "all", "lr_ratio": 1.0,
                 "param_names": [n for n, _ in named]}]
    groups = []
    for k, entry in enumerate(entries):
        if "regex" not in entry or "ratio" not in entry:
            raise ConfigError(f"lr_multiplier[{k}] needs 'regex' and 'ratio' keys, got {entry}.")
        try:
            pattern = re.compile(entry["regex"])
        except re.error as err:
            raise ConfigError(f"lr_multiplier[{k}]: invalid regex {entry['regex']!r} ({err}).") from None
        names = [n for n, _ in named if pattern.search(n)]
        if not names:
            logger.warning("lr_multiplier %r (regex %r) matches no parameter", entry.get("name"), entry["regex"])
        groups.append({"params": [p for n, p in named if pattern.search(n)], "name": str(entry.get("name", k)),
                       "lr_ratio": float(entry["ratio"]), "param_names": names})
    return groups


def make_sgd(param_groups: list[dict], lr: float = 0.1, momentum: float = 0.9,
             weight_decay: float = 0.00005) -> torch.optim.SGD:
    """torch SGD over the groups (no nesterov, no dampening; weight decay on every parameter, quirk Q16)."""
    return torch.optim.SGD(param_groups, lr=lr, momentum=momentum, weight_decay=weight_decay)


class IterationLRScheduler:
    """Sets every group's LR to ``policy(epoch, iteration) * group['lr_ratio']`` before each iteration.

    Args:
        optimizer: an optimizer whose groups carry ``lr_ratio`` (1 when absent).
        policy: a ListLR (or any object with ``get_lr(epoch, iteration)``).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, policy: ListLR):
        self.optimizer = optimizer
        self.policy = policy
        self.last_epoch = -1
        self.last_iteration = -1
        self.last_lr = float("nan")

    def step(self, epoch: int, iteration: int) -> float:
        """Apply the LR of (0-based epoch, iteration); returns the un-multiplied LR (the one video_analyst logs)."""
        lr = self.policy.get_lr(epoch, iteration)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_ratio", 1.0)
        self.last_epoch, self.last_iteration, self.last_lr = int(epoch), int(iteration), lr
        return lr

    def get_last_lr(self) -> list[float]:
        """The groups' current LRs."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "last_iteration": self.last_iteration, "last_lr": self.last_lr}

    def load_state_dict(self, state: Mapping) -> None:
        self.last_epoch = int(state["last_epoch"])
        self.last_iteration = int(state["last_iteration"])
        self.last_lr = float(state["last_lr"])
        if self.last_epoch >= 0:
            self.step(self.last_epoch, self.last_iteration)


class DynamicFreezer:
    """The per-epoch freeze schedule (video_analyst's DynamicFreezer).

    Args:
        schedule: entries {name, regex, epoch, freezed}, applied in order.
    """

    def __init__(self, schedule: Sequence[str | Mapping]):
        self.schedule = []
        for k, entry in enumerate(parse_entries(schedule, "schedule")):
            missing = [key for key in ("regex", "epoch", "freezed") if key not in entry]
            if missing:
                raise ConfigError(f"DynamicFreezer schedule[{k}] lacks {', '.join(missing)}: each entry needs "
                                  f"regex, epoch and freezed, got {entry}.")
            try:
                pattern = re.compile(entry["regex"])
            except re.error as err:
                raise ConfigError(f"DynamicFreezer schedule[{k}]: invalid regex {entry['regex']!r} ({err}).") from None
            self.schedule.append((str(entry.get("name", k)), pattern, int(entry["epoch"]), bool(entry["freezed"])))

    def requires_grad(self, name: str, epoch: int) -> bool | None:
        """Whether parameter ``name`` trains at ``epoch``; None when no entry matches it (left as it is)."""
        state = None
        for _, pattern, start, freezed in self.schedule:
            if pattern.search(name):
                # matches video_analyst: (epoch >= start) XOR freezed, later entries override earlier ones (Q15)
                state = (epoch >= start) != freezed
        return state

    def apply(self, model: nn.Module, epoch: int) -> dict[str, tuple[bool, bool]]:
        """Set ``requires_grad`` for ``epoch`` (0-based; call at the start of each epoch).

        Returns:
            {name: (old, new)} for every parameter whose state changed (also logged).
        """
        changed = {}
        for name, param in model.named_parameters():
            state = self.requires_grad(name, epoch)
            if state is not None and state != param.requires_grad:
                changed[name] = (param.requires_grad, state)
                param.requires_grad_(state)
        for name, (old, new) in changed.items():
            logger.info("epoch %d: %s requires_grad %s -> %s", epoch, name, old, new)
        return changed

    def state_dict(self) -> dict:
        """Nothing to save: the trainable set is a function of the epoch (re-applied at each epoch start)."""
        return {}

    def load_state_dict(self, state: Mapping) -> None:
        pass


def num_iterations_per_epoch(nr_image_per_epoch: int, minibatch: int) -> int:
    """nr_image_per_epoch // minibatch (12500 for the AlexNet GOT-10k config)."""
    if minibatch < 1 or nr_image_per_epoch < minibatch:
        raise ConfigError(f"optim: nr_image_per_epoch ({nr_image_per_epoch}) must be at least minibatch "
                          f"({minibatch}) >= 1.")
    return int(nr_image_per_epoch) // int(minibatch)


def _sgd_node(optim_cfg: Any) -> Any:
    name = optim_cfg["optimizer"]["name"]
    if name != "SGD":
        raise ConfigError(f"optim.optimizer.name {name!r} is not supported; SiamFC++ trains with SGD.")
    return optim_cfg["optimizer"]["SGD"]


def build_siamfcpp_optimizer(optim_cfg: Any, model: nn.Module) -> torch.optim.SGD:
    """SGD with the lr_multiplier groups, momentum and weight decay of ``optim.optimizer.SGD``."""
    node = _sgd_node(optim_cfg)
    groups = build_param_groups(model, list(node["lr_multiplier"]))
    logger.info("SGD groups: %s (momentum %g, weight decay %g)",
                ", ".join(f"{g['name']} {len(g['params'])} tensors x{g['lr_ratio']:g}" for g in groups),
                node["momentum"], node["weight_decay"])
    return make_sgd(groups, lr=float(node["lr"]), momentum=float(node["momentum"]),
                    weight_decay=float(node["weight_decay"]))


def build_siamfcpp_lr_scheduler(optim_cfg: Any, optimizer: torch.optim.Optimizer) -> IterationLRScheduler:
    """The per-iteration scheduler of ``optim.optimizer.SGD.lr_policy`` (iterations per epoch from the node)."""
    node = _sgd_node(optim_cfg)
    max_iter = num_iterations_per_epoch(int(node["nr_image_per_epoch"]), int(node["minibatch"]))
    return IterationLRScheduler(optimizer, build_lr_policy(list(node["lr_policy"]), max_iter))


def build_dynamic_freezer(optim_cfg: Any) -> DynamicFreezer | None:
    """The DynamicFreezer of ``optim.grad_modifier`` (None when its name is empty)."""
    node = optim_cfg.get("grad_modifier") if isinstance(optim_cfg, Mapping) else None
    if not node or not node.get("name"):
        return None
    if node["name"] != "DynamicFreezer":
        raise ConfigError(f"optim.grad_modifier.name {node['name']!r} is not supported; known: DynamicFreezer.")
    return DynamicFreezer(list(node["DynamicFreezer"]["schedule"]))
