"""Training checkpoints: original names and cadence, plain-data contents, atomic writes, resume from the newest
file that loads.

Files are ``<checkpoint_dir>/<NetType>_ep%04d.pth.tar`` (e.g.
``output/checkpoints/train/ostrack/vitb_256_mae_ce_32x4_ep300/OSTrack_ep0300.pth.tar``). Each is written to
``<NetType>_ep%04d.tmp``, flushed to disk, then renamed (as the original), so a crash never leaves a
half-written ``.pth.tar``. Contents are tensors, numbers, strings, lists and dicts only, so they load with
``torch.load(weights_only=True)`` (the original pickled Python objects; spec 8.5 item 34).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch

from lib.utils.errors import CheckpointError

__all__ = ["Checkpointer", "is_cadence_epoch", "warn_config_changes", "CHECKPOINT_PATTERN"]

logger = logging.getLogger(__name__)

CHECKPOINT_PATTERN = re.compile(r"^(?P<net>\w+)_ep(?P<epoch>\d{4,})\.pth\.tar$")


def is_cadence_epoch(epoch: int, max_epochs: int, interval: int = 40, epochs: Iterable[int] = (79, 159, 239),
                     last: int = 5, every_epoch: bool = False) -> bool:
    """Whether epoch ``epoch`` gets a kept checkpoint (spec 6.2; configurable, spec 8.5 item 35).

    Matches OSTrack with the defaults: the final epoch, every ``interval``-th epoch, epochs 79/159/239 and the
    last ``last`` epochs. For 300 epochs: 40, 79, 80, 120, 159, 160, 200, 239, 240, 280, 296-300.
    """
    return (epoch == max_epochs or every_epoch or (interval > 0 and epoch % interval == 0)
            or epoch in set(epochs) or epoch > max_epochs - last)


class Checkpointer:
    """Saves and finds a run's checkpoints.

    Args:
        directory: the run's checkpoint folder (``<save_dir>/checkpoints/train/<script>/<config>``).
        net_type: class name of the network, the file-name prefix (``OSTrack``).
    """

    def __init__(self, directory: str | os.PathLike, net_type: str):
        self.directory = Path(directory)
        self.net_type = net_type

    def path(self, epoch: int) -> Path:
        return self.directory / f"{self.net_type}_ep{epoch:04d}.pth.tar"

    def list(self) -> list[tuple[int, Path]]:
        """(epoch, path) of every checkpoint file of this net type, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.iterdir():
            match = CHECKPOINT_PATTERN.match(path.name)
            if match and match["net"] == self.net_type:
                found.append((int(match["epoch"]), path))
        return sorted(found)

    def save(self, state: dict[str, Any], epoch: int) -> Path:
        """Write ``state`` atomically as the checkpoint of ``epoch``; returns the final path."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.path(epoch)
        tmp = final.with_name(f"{self.net_type}_ep{epoch:04d}.tmp")
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        self._fsync_dir()
        return final

    def _fsync_dir(self) -> None:
        # Make the rename itself durable (a power loss must not resurrect the old directory entry).
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def remove_stale_temp_files(self) -> None:
        """Delete ``*.tmp`` files left by a run killed while writing a checkpoint."""
        if not self.directory.is_dir():
            return
        for tmp in self.directory.glob(f"{self.net_type}_ep*.tmp"):
            logger.warning("removing %s, an unfinished checkpoint write of an interrupted run", tmp)
            tmp.unlink(missing_ok=True)

    def move_aside(self) -> Path | None:
        """Move this net type's checkpoints into ``previous_<time>/`` (for a fresh start); returns that folder."""
        found = self.list()
        if not found:
            return None
        target = self.directory / time.strftime("previous_%Y%m%d-%H%M%S")
        target.mkdir(parents=True, exist_ok=True)
        for _, path in found:
            os.replace(path, target / path.name)
        return target

    @staticmethod
    def read(path: str | os.PathLike) -> dict[str, Any]:
        """Load one checkpoint on the CPU, plain data only."""
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or "net" not in state or "epoch" not in state:
            raise CheckpointError(f"{path} is not a training checkpoint of this framework (it has no 'net' and "
                                  f"'epoch' entries).")
        return state

    def load_latest(self) -> tuple[Path, dict[str, Any]] | None:
        """The newest checkpoint that loads; unreadable newer files are reported and skipped."""
        for epoch, path in reversed(self.list()):
            try:
                return path, self.read(path)
            except CheckpointError as err:
                logger.warning("skipping checkpoint %s: %s", path, err)
            except pickle.UnpicklingError:
                logger.warning("skipping checkpoint %s: it holds pickled Python objects (an original OSTrack training "
                               "checkpoint?), which a resume does not load. To start from its weights, set "
                               "MODEL.PRETRAIN_FILE to its path instead.", path)
            except Exception as err:  # noqa: BLE001 - any read failure (truncated zip, bad pickle) means "skip"
                logger.warning("skipping checkpoint %s: it cannot be read (%s: %s); it is probably truncated "
                               "or corrupt. Trying an older one.", path, type(err).__name__, err)
        return None


def _flatten(tree: Mapping, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def warn_config_changes(saved: Mapping, current: Mapping, source: str) -> None:
    """Log the keys whose values differ between the checkpoint's config and the current one (resume goes on)."""
    if not saved or not current:
        return
    old, new = _flatten(saved), _flatten(current)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if changed:
        shown = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:8])
        logger.warning("the config differs from the one %s was trained with (%d keys: %s%s); resuming anyway",
                       source, len(changed), shown, ", ..." if len(changed) > 8 else "")
