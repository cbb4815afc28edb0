#!/usr/bin/env bash
# Bring .venv in line with uv.lock. Needs only Python 3.11+ and pip; idempotent and fast when
# nothing changed. uv itself is installed into .tools/ (git-ignored) on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
PYTHON=${PYTHON:-python3}
TOOLS=.tools

if [ ! -x "$TOOLS/bin/uv" ]; then
  echo "bootstrap: first run: installing uv $UV_VERSION into $TOOLS/ ..."
  "$PYTHON" -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
if [ ! -d .venv ]; then
  echo "bootstrap: first run: creating .venv and installing the locked dependencies ..."
fi
# Extra arguments go to `uv sync`: scripts/test passes `--extra k8s` (dagster-k8s, for the
# Kubernetes deployment's tests); `make dev` and `make lint` do not, so their install stays
# the default one (an exact sync then removes the extra again).
# --compile-bytecode: PYTHONDONTWRITEBYTECODE may be set, and without .pyc files every
# `import dagster` costs over a second.
"$TOOLS/bin/uv" sync --frozen --compile-bytecode --python "$PYTHON" --quiet "$@"
