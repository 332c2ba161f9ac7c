"""Pack TrackingNet test results into the evaluation server's zip (original arguments: --tracker_name, --cfg_name).

Reads ``<results_path>/<tracker>/<cfg>/trackingnet/<seq>.txt`` and writes
``<results_path>/<tracker>/<cfg>/trackingnet_submit.zip`` holding ``<seq>.txt`` (comma-separated boxes).
The raw results are kept. Run: ``python lib/test/utils/transform_trackingnet.py --tracker_name ostrack --cfg_name X``.
"""

from __future__ import annotations

from lib.test.utils.packing import pack_trackingnet, run_packer
from lib.utils.cli import run_cli

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    print(run_packer(argv, "trackingnet", "trackingnet", pack_trackingnet, __doc__.splitlines()[0]))
    return 0


if __name__ == "__main__":
    run_cli(main)
