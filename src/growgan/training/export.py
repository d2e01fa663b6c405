"""Export a trained generator for other tools: TorchScript, ONNX or safetensors.

- ``torchscript``: `torch.jit.trace` of ``G(z[, c]) -> img``; load with ``torch.jit.load(path)``.
- ``onnx``: the same function through `torch.onnx.export` (inputs ``z`` float32 [N, z_dim] and,
  for a conditional G, ``c`` int64 [N]; output ``img`` float32 [N, C, H, W] in [-1, 1]); the
  batch axis is dynamic. Needs the ``onnx`` package (and ``onnxscript`` for torch's exporter).
- ``safetensors``: the weights without pickle; the metadata holds the network spec
  (``growgan_spec``, JSON) and the fade-in ``alpha``, so `load_safetensors_generator` (or any
  reader that builds the spec) restores the same generator.

A growing network is exported as it is at the checkpoint, its fade-in alpha included
(TorchScript and ONNX bake it in as a constant). Each export is written atomically and
checked by `check_export`: loaded back and run on fixed latents against the original.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from growgan.errors import GrowganError
from growgan.networks.registry import build_generator
from growgan.utils.formats import EXPORT_FORMATS
from growgan.utils.io import atomic_path

FORMATS = EXPORT_FORMATS
SUFFIX = {"torchscript": ".pt", "onnx": ".onnx", "safetensors": ".safetensors"}


class _Call(nn.Module):
    """G(z[, c]) as a module with plain tensor inputs (what tracers and exporters take)."""

    def __init__(self, G: nn.Module):
        super().__init__()
        self.G = G
        self.conditional = int(getattr(G, "c_dim", 0) or 0) > 0

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.G(z, c if self.conditional else None)


def fixed_inputs(G: nn.Module, n: int = 4, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Seeded latents z float32 [n, z_dim] (and labels c int64 [n] for a conditional G)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=gen)
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    return (z, torch.arange(n) % c_dim) if c_dim else (z,)


def export_generator(G: nn.Module, out: str | Path, fmt: str, spec: dict | None = None) -> Path:
    """Write G (in eval mode, on the CPU) to `out` in format `fmt` (one of FORMATS), atomically.
    `spec`: the pair spec to store with safetensors (default: G's own, with an empty D). Missing optional
    packages or an exporter failure -> GrowganError saying what to install or use instead."""
    if fmt not in FORMATS:
        raise GrowganError(f"--format {fmt}: not an export format; choose from {', '.join(FORMATS)}")
    G = G.cpu().eval().requires_grad_(False)
    out = Path(out)
    inputs = fixed_inputs(G, n=2)
    with atomic_path(out) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and exporter chatter about constants (alpha is one, by design)
        if fmt == "torchscript":
            with torch.no_grad():
                traced = torch.jit.trace(_Call(G), inputs, check_trace=False)
            torch.jit.save(traced, str(tmp))
        elif fmt == "safetensors":
            _save_safetensors(G, tmp, spec)
        else:
            _save_onnx(G, tmp, inputs)
    return out


def _save_safetensors(G: nn.Module, tmp: Path, spec: dict | None) -> None:
    from safetensors.torch import save_file

    spec = spec if spec is not None else {"family": G.family, "G": G.spec(), "D": {}}
    tensors = {k: v.detach().contiguous().clone() for k, v in G.state_dict().items()}
    meta = {"format": "growgan-generator", "growgan_spec": json.dumps(spec, sort_keys=True)}
    if hasattr(G, "alpha"):
        meta["alpha"] = repr(float(G.alpha))
    save_file(tensors, str(tmp), metadata=meta)


def _save_onnx(G: nn.Module, tmp: Path, inputs: tuple[torch.Tensor, ...]) -> None:
    try:
        import onnx  # noqa: F401  - torch's exporter needs it; say so before it fails deep inside
    except ImportError:
        raise GrowganError("--format onnx needs the onnx package (pip install onnx onnxscript); "
                           "or export torchscript/safetensors") from None
    names = ["z", "c"][: len(inputs)]
    work = Path(tempfile.mkdtemp(prefix="growgan-onnx-"))  # the exporter may write side files
    try:
        path = work / "g.onnx"
        try:
            torch.onnx.export(_Call(G), inputs, str(path), input_names=names, output_names=["img"],
                              dynamic_axes={n: {0: "batch"} for n in names + ["img"]}, dynamo=False)
        except Exception as exc:  # noqa: BLE001 - the exporter's failures are many and deep
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise GrowganError(f"torch's ONNX exporter failed ({first}); export torchscript or safetensors instead") from None
        shutil.copyfile(path, tmp)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def load_safetensors_generator(path: str | Path) -> nn.Module:
    """A generator written by `export_generator(..., "safetensors")`, in eval mode."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign file
        raise GrowganError(f"{path}: not a readable safetensors file ({type(exc).__name__}); export it again") from None
    if meta.get("format") != "growgan-generator" or "growgan_spec" not in meta:
        raise GrowganError(f"{path}: no growgan network spec in its metadata; it was not written by growgan export")
    G = build_generator(json.loads(meta["growgan_spec"]))
    G.load_state_dict(tensors)
    if "alpha" in meta:
        G.alpha = float(meta["alpha"])
    return G.eval().requires_grad_(False)


def run_export(path: str | Path, fmt: str, inputs: tuple[torch.Tensor, ...]) -> np.ndarray:
    """Run an exported file on `inputs` -> images float32 [N, C, H, W] as numpy. ONNX runs
    through onnxruntime when installed, else onnx's reference evaluator (slow, exact)."""
    path = Path(path)
    with torch.no_grad():
        if fmt == "torchscript":
            return torch.jit.load(str(path)).eval()(*inputs).numpy()
        if fmt == "safetensors":
            G = load_safetensors_generator(path)
            return G(inputs[0], inputs[1] if len(inputs) > 1 else None).numpy()
    feeds = {n: t.numpy() for n, t in zip(["z", "c"], inputs)}
    try:
        import onnxruntime as ort

        return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["img"], feeds)[0]
    except ImportError:
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(str(path)).run(["img"], feeds)[0]


def check_export(G: nn.Module, path: str | Path, fmt: str, n: int = 4, seed: int = 123, atol: float = 1e-4) -> float:
    """Load the export back and compare it with G on `n` fixed latents; -> the largest absolute
    difference. More than `atol` -> GrowganError (the export is not the generator)."""
    inputs = fixed_inputs(G, n=n, seed=seed)
    with torch.no_grad():
        want = _Call(G.cpu().eval())(*inputs).numpy()
    got = run_export(path, fmt, inputs)
    diff = float(np.abs(np.asarray(got, np.float32) - want).max()) if got.shape == want.shape else float("inf")
    if not diff <= atol:
        raise GrowganError(f"{path}: the {fmt} export differs from the generator by {diff:.3g} on fixed latents "
                           f"(shapes {tuple(got.shape)} vs {tuple(want.shape)}); report this with the run's config")
    return diff
