"""Benchmark-only loader of torch-fidelity's Inception-v3 feature extractor (the reference
implementation of the FID network), without torchvision and without its weight download.

torch-fidelity's package `__init__` imports modules that need torchvision, which does not
import here, so this registers an empty `torch_fidelity` package pointing at an unpacked
wheel and imports only `feature_extractor_inceptionv3` (and the small modules it needs).
Weights are left at their random initialisation (speed does not depend on them).
No torch-fidelity code lives in this repository; get the wheel with

    pip download torch-fidelity --no-deps -d /tmp/tfid
    python -m zipfile -e /tmp/tfid/torch_fidelity-*.whl /tmp/tfid/x
"""

from __future__ import annotations

import importlib
import os
import sys
import types

import torch


def load_reference_inception(unpacked: str = "/tmp/tfid/x", features=("2048", "logits")) -> torch.nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 with random weights, eval mode."""
    pkg_dir = os.path.join(unpacked, "torch_fidelity")
    if not os.path.isdir(pkg_dir):
        raise SystemExit(f"no unpacked torch-fidelity at {pkg_dir} (see this module's docstring)")
    if "torch_fidelity" not in sys.modules:
        pkg = types.ModuleType("torch_fidelity")
        pkg.__path__ = [pkg_dir]  # a namespace-like package: submodules import, __init__ does not run
        sys.modules["torch_fidelity"] = pkg
    mod = importlib.import_module("torch_fidelity.feature_extractor_inceptionv3")
    cls = mod.FeatureExtractorInceptionV3
    orig_url, orig_load = mod.load_state_dict_from_url, cls.load_state_dict
    mod.load_state_dict_from_url = lambda *a, **k: {}  # no download
    cls.load_state_dict = lambda self, *a, **k: None  # keep the random initialisation
    try:
        net = cls("inception-v3-compat", list(features))
    finally:
        mod.load_state_dict_from_url, cls.load_state_dict = orig_url, orig_load
    return net.eval()
