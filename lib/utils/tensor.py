"""TensorDict and TensorList: containers whose tensor methods apply to every element.

A training batch is a :class:`TensorDict` (``batch.to(device)`` moves every tensor in it and leaves strings and
lists of names alone), as in the original (spec 5.8).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any, Callable

import torch

__all__ = ["TensorDict", "TensorList"]


def _apply_method(value: Any, name: str, args: tuple, kwargs: dict) -> Any:
    method = getattr(value, name, None)
    return method(*args, **kwargs) if callable(method) else value


class TensorDict(OrderedDict):
    """An ordered dict of tensors (and other values).

    Calling a ``torch.Tensor`` method on the dict (e.g. ``.to(device)``, ``.float()``, ``.pin_memory()``) returns a
    new TensorDict where the method was applied to every value that has it; other values are copied unchanged.
    """

    def concat(self, other: "TensorDict") -> "TensorDict":
        """A new TensorDict holding the items of both (``other`` wins on equal keys)."""
        return TensorDict(self, **other)

    def copy(self) -> "TensorDict":
        return TensorDict(super().copy())

    def apply(self, fn: Callable[[Any], Any]) -> "TensorDict":
        """A new TensorDict with ``fn`` applied to every value."""
        return TensorDict({key: fn(value) for key, value in self.items()})

    def attribute(self, name: str, *default: Any) -> "TensorDict":
        """A new TensorDict with attribute ``name`` of every value (``default`` where a value lacks it)."""
        return TensorDict({key: getattr(value, name, *default) for key, value in self.items()})

    def __getattr__(self, name: str) -> Callable[..., "TensorDict"]:
        if name.startswith("__") or not hasattr(torch.Tensor, name):
            raise AttributeError(f"'TensorDict' object has no attribute {name!r}")

        @functools.wraps(getattr(torch.Tensor, name))
        def apply_to_values(*args: Any, **kwargs: Any) -> "TensorDict":
            return TensorDict({key: _apply_method(value, name, args, kwargs) for key, value in self.items()})

        return apply_to_values

    def __reduce__(self):
        # OrderedDict's reduce would call our __getattr__-backed methods on unpickling; keep it a plain rebuild.
        return (TensorDict, (list(self.items()),))


class TensorList(list):
    """A list of tensors with element-wise arithmetic and tensor methods applied to every element."""

    def __init__(self, items: Any = None):
        super().__init__(items if items is not None else [])

    def __deepcopy__(self, memo: dict) -> "TensorList":
        return TensorList([value.clone() if torch.is_tensor(value) else value for value in self])

    def _binary(self, other: Any, op: Callable[[Any, Any], Any]) -> "TensorList":
        if isinstance(other, TensorList):
            if len(other) != len(self):
                raise ValueError(f"TensorList lengths differ: {len(self)} and {len(other)}")
            return TensorList([op(a, b) for a, b in zip(self, other)])
        return TensorList([op(a, other) for a in self])

    def __add__(self, other): return self._binary(other, lambda a, b: a + b)
    def __radd__(self, other): return self._binary(other, lambda a, b: b + a)
    def __sub__(self, other): return self._binary(other, lambda a, b: a - b)
    def __rsub__(self, other): return self._binary(other, lambda a, b: b - a)
    def __mul__(self, other): return self._binary(other, lambda a, b: a * b)
    def __rmul__(self, other): return self._binary(other, lambda a, b: b * a)
    def __truediv__(self, other): return self._binary(other, lambda a, b: a / b)
    def __rtruediv__(self, other): return self._binary(other, lambda a, b: b / a)
    def __matmul__(self, other): return self._binary(other, lambda a, b: a @ b)
    def __pow__(self, other): return self._binary(other, lambda a, b: a ** b)
    def __neg__(self): return TensorList([-a for a in self])
    def __abs__(self): return TensorList([abs(a) for a in self])

    def apply(self, fn: Callable[[Any], Any]) -> "TensorList":
        """A new TensorList with ``fn`` applied to every element."""
        return TensorList([fn(value) for value in self])

    def __getattr__(self, name: str) -> Callable[..., "TensorList"]:
        if name.startswith("__") or not hasattr(torch.Tensor, name):
            raise AttributeError(f"'TensorList' object has no attribute {name!r}")

        def apply_to_elements(*args: Any, **kwargs: Any) -> "TensorList":
            return TensorList([_apply_method(value, name, args, kwargs) for value in self])

        return apply_to_elements
