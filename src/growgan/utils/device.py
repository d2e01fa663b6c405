"""Device names given by users (--device, --set device=...) checked before anything runs."""

from __future__ import annotations

import torch

from growgan.errors import GrowganError


def check_device(device: str | torch.device, what: str = "device") -> torch.device:
    """'cpu', 'cuda', 'cuda:1', 'mps', a torch.device -> torch.device, usable on this machine.

    Raises GrowganError (one line) for a malformed name, CUDA on a torch without CUDA (or
    no GPU), a CUDA index beyond the GPUs present, or MPS where it is unavailable."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise GrowganError(f"{what}={device!r}: not a device name; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise GrowganError(f"{what}={device!r}: {why}; use cpu (or install a CUDA build of torch)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise GrowganError(f"{what}={device!r}: only {torch.cuda.device_count()} CUDA device(s) here; "
                               f"use cuda:0..cuda:{torch.cuda.device_count() - 1}")
    elif dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise GrowganError(f"{what}={device!r}: MPS is not available here; use cpu")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise GrowganError(f"{what}={device!r}: growgan runs on cpu, cuda or mps")
    return dev
