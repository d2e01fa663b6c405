"""The FID Inception-v3 (Szegedy et al. 2016, as frozen in TensorFlow's 2015-12-05 graph and
used for FID by Heusel et al. 2017), written in plain torch.

This is the TF-compatible variant that pytorch-fid and torch-fidelity use: torchvision's
Inception-v3 layout with 1008 output classes, no auxiliary head, average pools that do not
count padding (Mixed_5b-6e, 7b) and a max pool in the last block's pool branch (Mixed_7c).
Parameter names and shapes match pytorch-fid's state dict, so the standard weights file
`pt_inception-2015-12-05-6726825d.pth` loads as it is.

Input handling as pytorch-fid: uint8 -> [0, 1] -> bilinear resize to 299x299
(align_corners=False) -> [-1, 1]; grayscale images are repeated to 3 channels.
Outputs: 2048-d pool features (FID, KID, precision/recall) and 1008 logits (IS).
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.utils.io import atomic_path

WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + WEIGHTS_NAME
WEIGHTS_SHA256_PREFIX = "6726825d"
ENV_WEIGHTS = "GROWGAN_INCEPTION_WEIGHTS"


class BasicConv2d(nn.Module):
    """conv (no bias) -> batch norm (eps 1e-3) -> ReLU."""

    def __init__(self, cin: int, cout: int, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg3(x: torch.Tensor) -> torch.Tensor:
    # TF's average pool ignores the zero padding.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, cin, H, W] -> [N, 224 + pool, H, W]
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg3(x))], 1)


class InceptionB(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, 288, 35, 35] -> [N, 768, 17, 17]
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, 768, 17, 17] -> same
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = layer(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg3(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, 768, 17, 17] -> [N, 1280, 8, 8]
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    def __init__(self, cin: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool  # the FID graph's last block max-pools its pool branch
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, cin, 8, 8] -> [N, 2048, 8, 8]
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pool = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pool)], 1)


class FIDInceptionV3(nn.Module):
    """uint8 [N, C, H, W] -> {"pool": [N, 2048], "logits": [N, 1008]}."""

    name = "inception"

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, c7=128)
        self.Mixed_6c = InceptionC(768, c7=160)
        self.Mixed_6d = InceptionC(768, c7=160)
        self.Mixed_6e = InceptionC(768, c7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)
        self.weights_id = "random"
        # NHWC activations and conv weights: oneDNN's convolutions run ~1.4x faster on CPU here
        # (measured in benchmarks/metrics.md); loading a state dict keeps this layout.
        self.to(memory_format=torch.channels_last)

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """uint8 [N, C, H, W] -> float [N, 3, 299, 299] in [-1, 1] (pytorch-fid's resize)."""
        x = images.to(torch.float32) / 255.0
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise GrowganError(f"the Inception network needs 1 or 3 channels, got {x.shape[1]}")
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return 2 * x - 1

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.preprocess(images).contiguous(memory_format=torch.channels_last)  # [N, 3, 299, 299]
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # [N, 64, 147, 147]
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # [N, 64, 73, 73]
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))  # [N, 192, 71, 71]
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # [N, 192, 35, 35]
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)  # ... -> [N, 2048, 8, 8]
        pool = x.mean(dim=(2, 3))  # [N, 2048]
        return {"pool": pool, "logits": self.fc(pool)}  # logits [N, 1008]


def default_cache_dir() -> Path:
    return Path(os.environ.get("GROWGAN_CACHE") or Path.home() / ".cache" / "growgan")


def find_weights(path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """--inception-weights PATH, else $GROWGAN_INCEPTION_WEIGHTS, else the cache folder, else download."""
    for candidate, origin in ((path, "--inception-weights"), (os.environ.get(ENV_WEIGHTS), f"${ENV_WEIGHTS}")):
        if candidate:
            p = Path(candidate)
            if not p.is_file():
                raise GrowganError(f"{p}: Inception weights file not found (from {origin}); give the path of {WEIGHTS_NAME}")
            return p
    cached = Path(cache_dir or default_cache_dir()) / WEIGHTS_NAME
    if cached.is_file():
        return cached
    if os.environ.get("GROWGAN_NO_DOWNLOAD"):
        raise GrowganError(_missing(cached, "downloads are disabled by $GROWGAN_NO_DOWNLOAD"))
    return _download(cached)


def _missing(cached: Path, why: str) -> str:
    return (f"no FID Inception weights ({why}); put {WEIGHTS_NAME} (from {WEIGHTS_URL}) at {cached}, "
            f"or pass --inception-weights PATH, or set ${ENV_WEIGHTS}; offline, use fid-classifier instead")


def _download(dest: Path) -> Path:
    try:
        with urllib.request.urlopen(WEIGHTS_URL, timeout=30) as resp:
            data = resp.read()
    except OSError as exc:
        raise GrowganError(_missing(dest, f"download failed: {str(exc).splitlines()[0][:80]}")) from None
    digest = hashlib.sha256(data).hexdigest()
    if not digest.startswith(WEIGHTS_SHA256_PREFIX):
        raise GrowganError(f"{WEIGHTS_URL}: downloaded file has sha256 {digest[:12]}, expected {WEIGHTS_SHA256_PREFIX}...")
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return dest


def load_state(model: nn.Module, state: dict, source: str) -> None:
    """Load a pytorch-fid state dict strictly (only BN's num_batches_tracked may be absent);
    another network's weights (other names or shapes, not a state dict) raise GrowganError."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GrowganError(f"{source}: not the FID Inception weights (not a state dict of tensors); use {WEIGHTS_NAME}")
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # same names, other shapes
        first = str(exc).strip().splitlines()[-1].strip()[:160]
        raise GrowganError(f"{source}: not the FID Inception weights ({first}); use {WEIGHTS_NAME}") from None
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise GrowganError(
            f"{source}: not the FID Inception weights ({len(missing)} missing, {len(unexpected)} unexpected "
            f"parameters, e.g. {(missing + unexpected)[0]}); use {WEIGHTS_NAME}"
        )


def load_inception(weights: str | os.PathLike | None = None, cache_dir=None, device=None) -> FIDInceptionV3:
    """The FID Inception with the standard weights, in eval mode without gradients."""
    path = find_weights(weights, cache_dir)
    try:
        blob = Path(path).read_bytes()
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise GrowganError(f"{path}: cannot read Inception weights ({type(exc).__name__}); download {WEIGHTS_URL} again") from None
    model = FIDInceptionV3()
    load_state(model, state, str(path))
    model.weights_id = hashlib.sha256(blob).hexdigest()  # caches are keyed by the content, not the file name
    return model.to(device or "cpu").eval().requires_grad_(False)
