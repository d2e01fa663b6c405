#!/usr/bin/env bash
# The main job on the built-in data: installs growgan into .venv, packs the built-in
# Fashion-MNIST test split, writes a grid of real samples and trains a GAN on it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# torch is pinned to the CPU wheel these machines carry; the package itself accepts torch>=2.3.
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0 -e .
mkdir -p out
.venv/bin/growgan dataset prepare builtin --out out/fashion-32 --overwrite
.venv/bin/growgan dataset info out/fashion-32
.venv/bin/growgan dataset grid out/fashion-32 --out out/reals.png
echo "wrote out/reals.png"
# Train DCGAN on it (100 kimg: about 2.5 minutes on 2 idle CPU cores), then sample the EMA generator.
.venv/bin/growgan train --preset dcgan-32 --data out/fashion-32 --kimg 100 --out runs
.venv/bin/growgan generate "$(ls -d runs/*-dcgan-32 | tail -1)" --num 64 --seed 0 --out out/fakes.png
echo "wrote out/reals.png, out/fakes.png and grids in $(ls -d runs/*-dcgan-32 | tail -1)/grids/"
