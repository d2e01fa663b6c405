"""The offline feature network `fid-classifier`: a small CNN growgan trains on a labelled archive.

These machines cannot download the FID Inception weights, so FID/KID/precision-recall can
also run on the penultimate features of a classifier trained on the data's own labels
(the idea of domain-specific FID, e.g. the LeNet "FID" of MNIST GAN papers). Values are
reported as fid_classifier / kid_classifier / pr_classifier_*: they are comparable only
between runs scored with the same classifier file, never with published FID.

File format: {"format": "growgan-fid-classifier", "spec": {...}, "state_dict": ..., "meta": ...},
loaded with torch.load(weights_only=True); the network is rebuilt from the spec.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.data import resolve_archive
from growgan.data.archive import open_archive
from growgan.errors import GrowganError
from growgan.utils.io import atomic_torch_save, check_out_file

FORMAT = "growgan-fid-classifier"
# Below this held-out accuracy train_classifier warns: the features barely separate the classes,
# so fid-classifier & co. say little. The README's recipe (the full MNIST training split,
# 2 epochs) reaches 0.984 (benchmarks/metrics.md); 3,000 images for 2 epochs reached 0.66 (issue #18).
WARN_BELOW_ACCURACY = 0.9


@dataclass
class ClassifierSpec:
    channels: int
    resolution: tuple[int, int]
    num_classes: int
    width: int = 16


class FeatureClassifier(nn.Module):
    """uint8 [N, C, H, W] -> {"pool": [N, 4*width] features, "logits": [N, num_classes]}."""

    name = "classifier"

    def __init__(self, spec: ClassifierSpec):
        super().__init__()
        self.spec = spec
        w, c = spec.width, spec.channels
        self.body = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(),
        )
        self.fc = nn.Linear(4 * w, spec.num_classes)
        self.weights_id = "untrained"

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 -> float [-1, 1] at the trained resolution and channel count."""
        x = images.to(torch.float32) / 127.5 - 1.0
        if x.shape[1] != self.spec.channels:
            x = x.mean(dim=1, keepdim=True) if self.spec.channels == 1 else x.expand(-1, self.spec.channels, -1, -1)
        if tuple(x.shape[2:]) != tuple(self.spec.resolution):
            x = F.interpolate(x, size=tuple(self.spec.resolution), mode="bilinear", align_corners=False)
        return x

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.body(self.preprocess(images))  # [N, 4w, H/4, W/4]
        pool = h.mean(dim=(2, 3))  # [N, 4w]
        return {"pool": pool, "logits": self.fc(pool)}


def load_classifier(path: str | os.PathLike | None, device=None) -> FeatureClassifier:
    if not path:
        raise GrowganError("the *-classifier metrics need --classifier FILE; train one with "
                           "`growgan metrics train-classifier --data LABELLED_ARCHIVE --out clf.pt`")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise GrowganError(f"{path}: no such classifier file; train one with `growgan metrics train-classifier`") from None
    except Exception as exc:  # noqa: BLE001
        raise GrowganError(f"{path}: not a readable fid-classifier ({type(exc).__name__}); train it again") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise GrowganError(f"{path}: not a growgan fid-classifier file; train one with `growgan metrics train-classifier`")
    try:
        spec = _check_spec(blob.get("spec"))
        model = FeatureClassifier(spec)
        model.load_state_dict(blob["state_dict"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise GrowganError(f"{path}: damaged fid-classifier file ({first}); train it again with "
                           "`growgan metrics train-classifier`") from None
    with open(path, "rb") as f:
        model.weights_id = hashlib.sha256(f.read()).hexdigest()[:16]
    return model.to(device or "cpu").eval().requires_grad_(False)


def _check_spec(d) -> ClassifierSpec:
    """A ClassifierSpec from a file's dict, every field checked (TypeError/ValueError else)."""
    if not isinstance(d, dict) or set(d) - {"channels", "resolution", "num_classes", "width"}:
        raise ValueError(f"spec {d!r} is not {{channels, resolution, num_classes, width}}")
    res = d.get("resolution")
    if not (isinstance(res, (list, tuple)) and len(res) == 2 and all(type(r) is int and r >= 1 for r in res)):
        raise ValueError(f"spec resolution {res!r} is not [H, W] of positive ints")
    for key, lo in (("channels", 1), ("num_classes", 2), ("width", 1)):
        v = d.get(key, 16 if key == "width" else None)
        if type(v) is not int or v < lo or (key == "channels" and v not in (1, 3)):
            raise ValueError(f"spec {key} {v!r} is not a valid int")
    return ClassifierSpec(d["channels"], (res[0], res[1]), d["num_classes"], d.get("width", 16))


def _accuracy(model: FeatureClassifier, images: np.ndarray, labels: np.ndarray, device, batch: int = 500) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = torch.from_numpy(np.array(images[s : s + batch])).to(device)
            pred = model(x)["logits"].argmax(dim=1).cpu()
            correct += int((pred == torch.from_numpy(np.asarray(labels[s : s + batch]))).sum())
    return correct / max(1, len(images))


def train_classifier(
    archive: str | os.PathLike, out: str | os.PathLike, epochs: int = 3, seed: int = 0, batch_size: int = 128,
    lr: float = 2e-3, width: int = 16, holdout: float = 0.1, device: str = "cpu", log: Callable[[str], None] = print,
    warn_below: float = WARN_BELOW_ACCURACY,
) -> dict:
    """Train on a labelled archive (a name such as 'builtin', or a folder; `holdout` of it is
    held out for accuracy), save atomically to `out` -> meta (held-out accuracy, ...).

    Logs a warning when the held-out accuracy is below `warn_below` (the file is still written:
    the values it gives are consistent, only less telling). Raises GrowganError for an
    unlabelled archive, bad --epochs/--batch-size or an unwritable `out`."""
    for name, v in (("--epochs", epochs), ("--batch-size", batch_size)):
        if type(v) is not int or v < 1:
            raise GrowganError(f"{name} {v}: must be a whole number >= 1")
    check_out_file(out, "--out")  # before the training, not after it
    arc = open_archive(resolve_archive(archive))
    if arc.labels is None or arc.num_classes < 2:
        raise GrowganError(f"{archive}: the classifier needs a labelled archive with >= 2 classes; pack one with labels")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(arc), generator=gen).numpy()
    n_hold = int(len(arc) * holdout)
    hold, train = np.sort(perm[:n_hold]), perm[n_hold:]
    spec = ClassifierSpec(arc.channels, tuple(arc.resolution), arc.num_classes, width)
    model = FeatureClassifier(spec).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * max(1, len(train) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    t0, step = time.time(), 0
    for epoch in range(epochs):
        model.train()
        order = train[torch.randperm(len(train), generator=gen).numpy()]
        for s in range(0, len(order) - batch_size + 1, batch_size):
            idx = np.sort(order[s : s + batch_size])
            x = torch.from_numpy(np.array(arc.images[idx])).to(device)
            y = torch.from_numpy(np.asarray(arc.labels[idx])).to(device)
            loss = F.cross_entropy(model(x)["logits"], y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step < steps:
                sched.step()
            step += 1
        acc = _accuracy(model, arc.images[hold], arc.labels[hold], device) if n_hold else float("nan")
        log(f"epoch {epoch + 1}/{epochs}: loss {float(loss.detach()):.4f}, held-out accuracy {acc:.4f}, {time.time() - t0:.0f} s")
    meta = {"archive": str(archive), "archive_sha256": arc.content_hash, "epochs": epochs, "seed": seed,
            "heldout_accuracy": acc, "heldout_images": n_hold}
    spec_d = asdict(spec)
    spec_d["resolution"] = list(spec.resolution)
    state = {k: v.cpu() for k, v in model.state_dict().items()}
    atomic_torch_save({"format": FORMAT, "spec": spec_d, "state_dict": state, "meta": meta}, out)
    log(f"saved {out} (held-out accuracy {acc:.4f})")
    if n_hold and acc < warn_below:
        log(f"warning: held-out accuracy {acc:.2f} is below {warn_below:.2f}: this classifier's features separate "
            f"the classes poorly, so fid-classifier/kid-classifier/pr-classifier will say little; train on more "
            f"images (e.g. a whole training split) or for more --epochs")
    return meta
