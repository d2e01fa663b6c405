"""Mixed precision: which autocast dtype a config and device get.

bf16 autocast needs no loss scaling (same exponent range as fp32); fp16 needs a
GradScaler and is only used on CUDA. On CPU "auto" means fp32: bf16 matmuls are only
faster than fp32 on CPUs with AMX/AVX512-BF16, and fp32 keeps CPU runs bit-reproducible.
"""

from __future__ import annotations

import contextlib

import torch

from growgan.errors import GrowganError


def amp_dtype(mode: str, device: torch.device | str) -> torch.dtype | None:
    """None (fp32), torch.bfloat16 or torch.float16 for an amp mode on a device."""
    device = torch.device(device)
    if mode == "off":
        return None
    if mode == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if mode == "bf16":
        return torch.bfloat16
    if mode == "fp16":
        if device.type != "cuda":
            raise GrowganError("amp=fp16 needs a CUDA device; use amp=bf16 or amp=off on CPU")
        return torch.float16
    raise GrowganError(f"amp={mode!r} is not one of auto, off, bf16, fp16")


def autocast(dtype: torch.dtype | None, device: torch.device):
    """torch.autocast for `dtype`, or a no-op context for fp32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
