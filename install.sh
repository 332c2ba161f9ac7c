#!/usr/bin/env bash
# One-command set-up: a virtual environment in .venv with everything the framework needs.
# Idempotent: a second run on an installed tree only checks and finishes in seconds.
# Runs unattended (no prompts); safe under CI=true with no stdin.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv
STAMP=$VENV/.installed-requirements

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 10) else 1)' || {
  echo "install.sh: Python 3.10+ is needed (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11." >&2
  exit 1
}

# System JPEG decoder for jpeg4py. Without it images are decoded with OpenCV (same pixels, a bit slower).
if ldconfig -p 2>/dev/null | grep -q libturbojpeg; then
  echo "install.sh: libturbojpeg found: jpeg4py will decode JPEG images."
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "install.sh: installing libturbojpeg0 for jpeg4py (apt-get)."
  if ! (DEBIAN_FRONTEND=noninteractive apt-get install -y -q libturbojpeg0 >/dev/null 2>&1 ||
        (apt-get update -q >/dev/null 2>&1 &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -q libturbojpeg0 >/dev/null 2>&1)); then
    echo "install.sh: could not install libturbojpeg0: images will be decoded with OpenCV."
  fi
else
  echo "install.sh: libturbojpeg is not installed and this is not a root shell with apt-get:"
  echo "            images will be decoded with OpenCV (install libturbojpeg0 to use jpeg4py)."
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

req_hash=$( (cat requirements.txt pyproject.toml) | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$req_hash" ] && "$VENV/bin/python" -c 'import torch, torchvision, cv2, timm, lib' 2>/dev/null; then
  echo "install.sh: $VENV is up to date."
  exit 0
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# pip warns once per package about index folders of the local mirror that do not exist; hide only that noise.
pip_install() {
  local status
  set +e
  "$VENV/bin/python" -m pip install -q "$@" 2>&1 | grep -v "is ignored: it is neither a file nor a directory"
  status=${PIPESTATUS[0]}
  set -e
  return "$status"
}
echo "install.sh: installing requirements into $VENV (the first run takes a few minutes)."
pip_install -r requirements.txt
pip_install --no-deps --no-build-isolation -e . || pip_install --no-deps -e .
echo "$req_hash" > "$STAMP"
echo "install.sh: done. Activate with: source $VENV/bin/activate"
