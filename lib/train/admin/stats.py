"""Running statistics for the training log: :class:`AverageMeter` (sample-weighted mean) and :class:`StatValue`.

Both keep a per-epoch ``history`` and serialise to plain data (``state_dict``), so they can be saved in a
checkpoint that loads with ``torch.load(weights_only=True)`` (spec 8.5 item 34: the original pickled the objects).
"""

from __future__ import annotations

from typing import Any

__all__ = ["AverageMeter", "StatValue", "stats_to_state", "stats_from_state"]


class StatValue:
    """The latest value of a quantity (e.g. a learning rate), with one history entry per update."""

    def __init__(self) -> None:
        self.val: float = 0.0
        self.history: list[float] = []

    def reset(self) -> None:
        self.val = 0.0

    def clear(self) -> None:
        self.reset()
        self.history = []

    def update(self, val: float) -> None:
        self.val = float(val)
        self.history.append(self.val)

    def state_dict(self) -> dict[str, Any]:
        return {"type": "StatValue", "val": self.val, "history": list(self.history)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.val = float(state["val"])
        self.history = [float(v) for v in state["history"]]


class AverageMeter:
    """Sample-weighted running average within an epoch; ``new_epoch`` pushes the average to ``history``."""

    def __init__(self) -> None:
        self.history: list[float] = []
        self.has_new_data = False
        self.reset()

    def reset(self) -> None:
        self.val = 0.0
        self.avg = 0.0
        self.sum = 0.0
        self.count = 0

    def clear(self) -> None:
        self.reset()
        self.history = []
        self.has_new_data = False

    def update(self, val: float, n: int = 1) -> None:
        self.val = float(val)
        self.sum += float(val) * n
        self.count += n
        self.avg = self.sum / self.count

    def set_totals(self, total: float, count: int) -> None:
        """Replace sum and count (e.g. with values reduced over all ranks)."""
        self.sum = float(total)
        self.count = int(count)
        self.avg = self.sum / self.count if self.count else 0.0

    def new_epoch(self) -> None:
        if self.count > 0:
            self.history.append(self.avg)
            self.has_new_data = True
        else:
            self.has_new_data = False
        self.reset()

    def state_dict(self) -> dict[str, Any]:
        return {"type": "AverageMeter", "val": self.val, "sum": self.sum, "count": self.count,
                "history": list(self.history), "has_new_data": self.has_new_data}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.val = float(state["val"])
        self.set_totals(state["sum"], state["count"])
        self.history = [float(v) for v in state["history"]]
        self.has_new_data = bool(state["has_new_data"])


_TYPES = {"AverageMeter": AverageMeter, "StatValue": StatValue}


def stats_to_state(stats: dict[str, dict[str, AverageMeter | StatValue] | None]) -> dict[str, Any]:
    """``{loader: {name: meter}}`` -> nested plain dicts (checkpoint-safe)."""
    return {loader: None if meters is None else {name: m.state_dict() for name, m in meters.items()}
            for loader, meters in stats.items()}


def stats_from_state(state: dict[str, Any]) -> dict[str, dict[str, AverageMeter | StatValue] | None]:
    """Inverse of :func:`stats_to_state`."""
    stats: dict[str, dict[str, AverageMeter | StatValue] | None] = {}
    for loader, meters in state.items():
        if meters is None:
            stats[loader] = None
            continue
        stats[loader] = {}
        for name, meter_state in meters.items():
            meter = _TYPES[meter_state["type"]]()
            meter.load_state_dict(meter_state)
            stats[loader][name] = meter
    return stats
