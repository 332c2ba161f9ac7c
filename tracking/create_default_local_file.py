"""Write the optional local path settings file (local_settings.yaml), keeping the original arguments.

The original wrote two Python files into the package (lib/train/admin/local.py and lib/test/evaluation/local.py).
Here one YAML file outside the package code holds the paths; it is optional, since flags, OSTRACK_* environment
variables and defaults (./data, ./output, ./pretrained_models) also work. See README.md, "Paths".
"""

import argparse
from pathlib import Path

from lib.utils.environment import env_settings, settings_file, write_settings_file
from lib.utils.cli import run_cli
from lib.utils.errors import PathSettingsError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace_dir", type=str, required=True, help="project workspace (e.g. the repo root)")
    parser.add_argument("--data_dir", type=str, required=True, help="folder holding the datasets")
    parser.add_argument("--save_dir", type=str, required=True, help="output folder (checkpoints, logs, results)")
    parser.add_argument("--pretrained_dir", type=str, default=None, help="pretrained weights (default ./pretrained_models)")
    parser.add_argument("--output", type=str, default=None, help=f"file to write (default {settings_file()})")
    args = parser.parse_args()

    values = {"workspace_dir": Path(args.workspace_dir).resolve(), "data_dir": Path(args.data_dir).resolve(),
              "save_dir": Path(args.save_dir).resolve()}
    if args.pretrained_dir:
        values["pretrained_dir"] = Path(args.pretrained_dir).resolve()
    for key, path in values.items():
        if path.exists() and not path.is_dir():
            raise PathSettingsError(f"--{key} {path} exists but is not a directory.")
    out = write_settings_file(values, Path(args.output) if args.output else None)
    print(f"wrote {out}")
    env = env_settings()
    for key in ("data_dir", "save_dir", "pretrained_dir"):
        print(f"  {key}: {getattr(env, key)} (from {env.sources[key]})")
    return 0


if __name__ == "__main__":
    run_cli(main)
