"""Named training presets (`growgan train --preset NAME`).

A preset is a function returning a fresh `TrainConfig`. Network keys left as None
(`img_channels`, `img_resolution`, `c_dim`) are filled in from the training archive, so
`dcgan-32` trains on 1-channel Fashion-MNIST and 3-channel CIFAR-10 alike.
DCGAN settings follow Radford et al. 2016 (Adam lr 2e-4, beta1 0.5) with narrow widths
(G 128-64-32 channels at 4-8-16 px, D 32-64-128) and batch 32, sized for a CPU: per image
seen, batch 32 learns faster than 64 here (twice the updates at the same cost per image);
on the built-in Fashion-MNIST it draws recognisable clothing after 100 kimg, about 4 minutes
on one idle core (benchmarks/train.md). The
ResNet GAN uses hinge loss with spectral norm on D, as SNGAN (Miyato et al. 2018).
"""

from __future__ import annotations

import re

from growgan.errors import GrowganError
from growgan.training import presets_conditional, presets_dggan, presets_progan, presets_stylegan2  # noqa: F401  (they register their presets)
from growgan.training import presets_cyclegan  # noqa: F401  (registers the cyclegan-* presets)
from growgan.training import presets_translation  # noqa: F401  (registers pix2pix-*)
from growgan.training.config import TrainConfig, parse_config
from growgan.training.preset_registry import PRESETS, register_preset

__all__ = ["PRESETS", "get_preset", "preset_names", "preset_table", "register_preset"]


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str) -> TrainConfig:
    """A fresh TrainConfig for preset `name` (its `name` field set to the preset's name)."""
    if name not in PRESETS:
        raise GrowganError(f"unknown preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
    cfg = PRESETS[name]()
    if cfg.name == "run":
        cfg.name = name
    return parse_config(cfg.to_dict(), source=f"preset {name}")


def preset_table() -> list[tuple[str, str, str, str]]:
    """`growgan presets`: (name, family, resolution, purpose) of every preset, read from the
    presets themselves: the family from the network spec; the resolution as start -> end
    pixels for growing presets, the fixed size, or "from data" when the networks take the
    archive's size; the purpose is the first sentence of the preset function's docstring."""
    rows = []
    for name in preset_names():
        cfg = get_preset(name)
        net, growth = cfg.network or {}, cfg.growth or {}
        family = net.get("family", "?")
        target = growth.get("target_resolution") or (growth.get("search") or {}).get("target_resolution")
        if target:
            res = f"{_start_side(net)}->{target}"
        else:
            side = (net.get("G") or {}).get("img_resolution")
            res = "from data" if side is None else "x".join(str(v) for v in (side if isinstance(side, (list, tuple)) else [side, side]))
        rows.append((name, family, res, _first_sentence(PRESETS[name].__doc__ or "")))
    return rows


def _start_side(net: dict) -> str:
    g = net.get("G") or {}
    if "base_resolution" in g:  # dggan
        return str(g["base_resolution"][0])
    if "num_stages" in g:  # progan: stage 0 is 4x4
        return str(4 * 2 ** (int(g["num_stages"]) - 1))
    return "?"


def _first_sentence(doc: str) -> str:
    """Up to the first period followed by a capital letter ("et al. 2016" and "Sec. 6.5" go on)."""
    text = " ".join(doc.split())
    m = re.search(r"\.\s+(?=[A-Z])", text)
    return text if m is None else text[: m.start() + 1]


def _data_keys() -> dict:
    return {"img_channels": None, "img_resolution": None, "c_dim": None}


@register_preset("dcgan-32")
def dcgan_32() -> TrainConfig:
    """DCGAN (Radford et al. 2016) sized for a CPU, batch 32: the demo's model (clothing from
    the built-in Fashion-MNIST after 100 kimg). Narrow nets, G 128-64-32 and D 32-64-128
    channels; the resolution (32, 64 or 128) and channels follow the archive."""
    net = {
        "family": "dcgan",
        "G": {"z_dim": 100, "g_channels": 32, **_data_keys()},
        "D": {"z_dim": 100, "d_channels": 32, **_data_keys()},
    }
    return TrainConfig(
        network=net, loss="nonsaturating", lr_G=2e-4, lr_D=2e-4, betas_G=(0.5, 0.999), betas_D=(0.5, 0.999),
        batch_size=32, ema_kimg=2.0, ema_rampup=0.05, kimg=100, log_kimg=1.0, grid_kimg=10.0, checkpoint_kimg=10.0,
    )


@register_preset("resnet-32")
def resnet_32() -> TrainConfig:
    """SNGAN-style ResNet GAN (Miyato et al. 2018): hinge loss, spectral norm on D, 64 base
    channels; ~50x the FLOPs of dcgan-32 per image. Resolution and channels follow the archive."""
    net = {
        "family": "resnet",
        "G": {"z_dim": 128, "channels": 64, **_data_keys()},
        "D": {"z_dim": 128, "channels": 64, "spectral_norm": True, **_data_keys()},
    }
    return TrainConfig(
        network=net, loss="hinge", lr_G=2e-4, lr_D=2e-4, betas_G=(0.0, 0.9), betas_D=(0.0, 0.9),
        batch_size=64, ema_kimg=2.0, ema_rampup=0.05, kimg=50, log_kimg=1.0, grid_kimg=5.0, checkpoint_kimg=10.0,
    )
