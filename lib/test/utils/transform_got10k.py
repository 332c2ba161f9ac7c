"""Pack GOT-10k test results into the evaluation server's zip (original arguments: --tracker_name, --cfg_name).

Reads ``<results_path>/<tracker>/<cfg>/got10k/<seq>.txt`` and ``<seq>_time.txt`` and writes
``<results_path>/<tracker>/<cfg>/got10k_submit.zip`` holding ``<seq>/<seq>_001.txt`` and ``<seq>/<seq>_time.txt``.
The raw results are kept. Run: ``python lib/test/utils/transform_got10k.py --tracker_name ostrack --cfg_name X``.
"""

from __future__ import annotations

from lib.test.utils.packing import pack_got10k, run_packer
from lib.utils.cli import run_cli

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    print(run_packer(argv, "got10k_test", "got10k", pack_got10k, __doc__.splitlines()[0]))
    return 0


if __name__ == "__main__":
    run_cli(main)
