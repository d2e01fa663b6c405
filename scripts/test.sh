#!/usr/bin/env bash
# Installs growgan and what its tests need into .venv, then runs the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/data -x).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# torch is pinned to the CPU wheel these machines carry; the package itself accepts torch>=2.3.
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 -e '.[test]'
exec .venv/bin/python -m pytest "$@"
