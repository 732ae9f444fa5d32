# Shared by bin/serve and bin/test: make .venv with Python >= 3.11 and install a requirements file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
  PY=${PYTHON:-}
  if [ -z "$PY" ]; then
    for candidate in python3.11 python3.12 python3.13 python3; do
      if command -v "$candidate" >/dev/null 2>&1; then PY=$candidate; break; fi
    done
  fi
  "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gtsched needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$1"
