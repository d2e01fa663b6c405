"""Feature extraction (stage 1 of features -> statistics -> value) and the real-data cache.

A feature extractor maps uint8 [n, C, H, W] to {"pool": [n, D], "logits": [n, K]}. The
extractors are the FID Inception ("inception") and growgan's offline classifier
("classifier"). Features of a real archive are cached as a file named after a hash of
(archive content hash, extractor and its weights, options such as resize/subset/count),
written atomically, so a second evaluation against the same data skips the real pass. Every
part of the key is content: the archive's current content hash (checked by size + mtime of its
files, re-hashed when they changed) and the sha256 of the extractor's weights file.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from growgan.errors import GrowganError
from growgan.metrics.classifier import load_classifier
from growgan.metrics.inception import default_cache_dir, load_inception
from growgan.metrics.sources import ImageSource
from growgan.utils.io import atomic_torch_save
from growgan.utils.progress import bar


def build_extractor(kind: str, ctx) -> torch.nn.Module:
    """kind: "inception" (needs the weights file) or "classifier" (needs ctx.classifier)."""
    if kind == "inception":
        return load_inception(ctx.inception_weights, ctx.cache_dir, ctx.device)
    if kind == "classifier":
        return load_classifier(ctx.classifier, ctx.device)
    raise ValueError(f"unknown feature extractor {kind!r}")


@torch.no_grad()
def extract(extractor: torch.nn.Module, source: ImageSource, batch_size: int = 50, device=None) -> dict[str, torch.Tensor]:
    """All features of a source -> {"pool": float64 [N, D], "logits": float64 [N, K]} on the CPU."""
    device = device or next(extractor.parameters()).device
    parts: dict[str, list[torch.Tensor]] = {}
    with bar(total=source.num, desc=f"features ({extractor.name})", unit="img") as pb:
        for start in range(0, source.num, batch_size):
            batch = source.get(start, start + batch_size)
            out = extractor(batch.to(device))
            for k, v in out.items():
                parts.setdefault(k, []).append(v.to(torch.float64).cpu())
            pb.update(batch.shape[0])
    return {k: torch.cat(v) for k, v in parts.items()}


def cache_key(source: ImageSource, extractor: torch.nn.Module, record_dir: Path | None = None) -> str | None:
    """Readable, content-addressed cache name, or None when the source has no content hash.

    Keyed by content alone: the hash of the images the source holds now (an archive's files
    are checked by size + mtime, re-hashed when they changed), the extractor's weights
    *file content* (weights_id: its sha256), and the options (resize, subset, count)."""
    data = source.current_hash(record_dir)
    if data is None:
        return None
    ident = {"data": data, "num": source.num, "options": source.options,
             "extractor": extractor.name, "weights": getattr(extractor, "weights_id", "")}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    return f"features-{extractor.name}-{data[:8]}-{source.num}-{digest}.pt"


def real_features(extractor: torch.nn.Module, source: ImageSource, ctx) -> dict[str, torch.Tensor]:
    """Features of real images, from the cache when this (data, extractor, options) was seen."""
    cache = Path(ctx.cache_dir or default_cache_dir())
    name = cache_key(source, extractor, cache / "archives")
    path = cache / "stats" / name if name else None
    if path is not None and path.is_file():
        try:
            return {k: v.to(torch.float64) for k, v in torch.load(path, map_location="cpu", weights_only=True).items()}
        except Exception:  # noqa: BLE001 - a damaged cache entry is recomputed
            pass
    feats = extract(extractor, source, ctx.batch_size, ctx.device)
    if path is not None:
        try:
            atomic_torch_save({k: v.to(torch.float32) for k, v in feats.items()}, path)
        except (GrowganError, OSError) as exc:  # a read-only or full cache costs speed next time, not this result
            print(f"growgan: warning: statistics not cached ({exc}); the result is not affected", file=sys.stderr)
        feats = {k: v.to(torch.float32).to(torch.float64) for k, v in feats.items()}  # same values as a cache hit
    return feats
