#!/usr/bin/env bash
# One-command set-up: a virtual environment in .venv with the framework, its extras and the test tools, at the
# versions pinned in constraints.txt (a fresh install later resolves the same environment). pip only: no system
# packages are needed (JPEG decoding comes from simplejpeg's wheel, OpenCV is the headless build).
# Idempotent: a second run on an installed tree only checks and finishes in seconds.
# Runs unattended (no prompts); safe under CI=true with no stdin.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv
STAMP=$VENV/.installed-requirements
# Installed without their declared dependencies; install.sh adds the others. vot-toolkit declares opencv-python,
# the GUI build of OpenCV, which would overwrite the cv2 of opencv-python-headless and need libGL.
NO_DEPS="vot-toolkit"
SKIPPED_DEPS="opencv-python"

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' || {
  echo "install.sh: Python 3.11+ is needed (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11." >&2
  exit 1
}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

req_hash=$(cat requirements.txt constraints.txt pyproject.toml install.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$req_hash" ] &&
   "$VENV/bin/python" -c 'import torch, torchvision, cv2, timm, simplejpeg, lib' 2>/dev/null; then
  echo "install.sh: $VENV is up to date."
  exit 0
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# Hidden pip noise: a warning per package about index folders of the local mirror that do not exist, and the
# dependency-conflict report about the opencv-python that vot-toolkit is installed without (see NO_DEPS above).
pip_install() {
  local status
  set +e
  "$VENV/bin/python" -m pip install -q -c constraints.txt "$@" 2>&1 |
    grep -vE "is ignored: it is neither a file nor a directory|dependency resolver does not currently take into|requires ($(echo "$SKIPPED_DEPS" | tr ' ' '|'))[^A-Za-z0-9._-].*which is not installed"
  status=${PIPESTATUS[0]}
  set -e
  return "$status"
}
no_deps_pattern="^($(echo "$NO_DEPS" | tr ' ' '|'))([^A-Za-z0-9._-]|$)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
grep -viE "$no_deps_pattern" requirements.txt > "$work/with-deps.txt" || true
grep -iE "$no_deps_pattern" requirements.txt > "$work/no-deps.txt" || true

echo "install.sh: installing requirements into $VENV (the first run takes a few minutes)."
# setuptools first: the editable install below builds with the venv's own (pyproject.toml needs setuptools>=77).
pip_install setuptools
pip_install -r "$work/with-deps.txt"
if [ -s "$work/no-deps.txt" ]; then
  pip_install --no-deps -r "$work/no-deps.txt"
  # their declared dependencies, less the skipped ones, at the pinned versions
  "$VENV/bin/python" - "$SKIPPED_DEPS" $(sed -E 's/[^A-Za-z0-9._-].*//' "$work/no-deps.txt") > "$work/their-deps.txt" <<'EOF'
import importlib.metadata as metadata
import re
import sys

try:
    from packaging.requirements import Requirement
except ImportError:  # packaging comes with matplotlib; pip vendors a copy
    from pip._vendor.packaging.requirements import Requirement

canonical = lambda name: re.sub(r"[-_.]+", "-", name).lower()
skipped = {canonical(name) for name in sys.argv[1].split()}
for package in sys.argv[2:]:
    for line in metadata.requires(package) or []:
        req = Requirement(line)
        if canonical(req.name) not in skipped and (req.marker is None or req.marker.evaluate({"extra": ""})):
            print(req)
EOF
  if [ -s "$work/their-deps.txt" ]; then
    pip_install -r "$work/their-deps.txt"
  fi
fi
# jpeg4py (and its system libturbojpeg) was replaced by simplejpeg; drop it from environments made before.
"$VENV/bin/python" -m pip uninstall -y -q jpeg4py >/dev/null 2>&1 || true
pip_install --no-deps --no-build-isolation -e . || pip_install --no-deps -e .
echo "$req_hash" > "$STAMP"
echo "install.sh: done. Activate with: source $VENV/bin/activate"
