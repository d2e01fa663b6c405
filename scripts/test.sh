#!/usr/bin/env bash
# Installs growgan and what its tests need into .venv, then runs the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/data -x).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# torch is pinned to the CPU wheel these machines carry; the package itself accepts torch>=2.3.
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 -e '.[test]'
# The report test draws pages in headless Chromium (Debian package `chromium`); without it
# that test skips. Installed here when missing and apt is usable (CI runs as root); a failure
# only means the browser test skips.
# Fashion-MNIST (Debian package `dataset-fashion-mnist`) is fetched the same way for the test
# that reads it from /usr/share/datasets.
want=()
command -v chromium >/dev/null 2>&1 || want+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || want+=(dataset-fashion-mnist)
if [ ${#want[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}") >/dev/null 2>&1 \
    || echo "note: could not install ${want[*]}; the tests that need them will skip" >&2
fi
exec .venv/bin/python -m pytest "$@"
