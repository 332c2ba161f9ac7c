"""Load a command-line script of tracking/ as a module, so tests can call its functions and main()."""

import importlib.util
from pathlib import Path
from types import ModuleType

TRACKING = Path(__file__).resolve().parents[1] / "tracking"


def load_tracking_script(name: str) -> ModuleType:
    """tracking/<name>.py, executed as a fresh module named ``tracking_<name>``."""
    spec = importlib.util.spec_from_file_location(f"tracking_{name}", TRACKING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
