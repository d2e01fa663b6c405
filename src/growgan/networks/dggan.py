"""Growable generator and discriminator of the Dynamically Grown GAN (Liu, Zhang, Deng,
Soatto, "Dynamically Grown Generative Adversarial Networks", AAAI 2021, arXiv 2106.08505).

The architecture is data. Both networks are lists of *stages*, one per resolution
(stage i works at ``base_resolution * 2**i``), and each stage is a list of conv layers
``{"k": kernel, "w": width}``. The layout mirrors ProGAN (equalized lr, pixel norm in G,
leaky ReLU, minibatch-std in D's head), but G and D grow independently:

- ``G+conv(k, w)`` appends a layer to G's top stage (output width ``w``).
- ``D+conv(k, w)`` inserts a layer at the input of D's top (input) stage (input width ``w``).
- ``grow-resolution`` gives both nets a new top stage.

Parameter names stay stable across growth, so `growgan.growth.inherit.regrow` carries every
weight over: G layer j of stage i is ``stages.i.j``; D stages are listed in the same way but
*from the output side* (D's ``stages[i][0]`` is the stage's last layer, new input layers are
appended), so inserting at D's input never renames an existing layer. toRGB / fromRGB
layers are keyed by the layer they attach to (``to_rgb.s2l1``), so a width change simply
brings a new toRGB/fromRGB.

Fade-in: a spec may carry ``"fade": "layer"`` or ``"fade": "stage"``; then the newest layer
(or the newest stage) is blended with the parent's path at the RGB end, ProGAN-style:
``out = (1 - alpha) * parent_path + alpha * new_path``. At ``alpha = 0`` the child computes
exactly the parent's function (G: the parent's image, 2x nearest-upsampled after a
resolution step; D: the parent's logits of the 2x average-pooled image). Once the fade is
over the growth controller drops ``"fade"`` and the old toRGB/fromRGB, leaving plain layers.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan.layers import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStd,
    PixelNorm,
    downsample2x,
    upsample2x,
)
from growgan.networks.registry import Network, register_family

FADES = (None, "layer", "stage")
Stages = list[list[dict[str, int]]]


def _check_stages(stages: Stages, who: str) -> None:
    if not stages or any(not stage for stage in stages):
        raise GrowganError(f"dggan {who} spec: every stage needs at least one conv layer")
    for stage in stages:
        for layer in stage:
            if int(layer["k"]) % 2 != 1 or int(layer["w"]) < 1:
                raise GrowganError(f"dggan {who} spec: layer {layer} needs an odd kernel k and a width w >= 1")


def _check_fade(fade: str | None, stages: Stages, who: str) -> None:
    if fade not in FADES:
        raise GrowganError(f"dggan {who} spec: fade must be one of {FADES}, got {fade!r}")
    if fade == "layer" and len(stages[-1]) < 2:
        raise GrowganError(f"dggan {who} spec: a 'layer' fade needs two layers in the top stage")
    if fade == "stage" and len(stages) < 2:
        raise GrowganError(f"dggan {who} spec: a 'stage' fade needs two stages")


def _checked_spec(
    stages: Stages, base_resolution: list[int] | tuple[int, int], fade: str | None, c_dim: int, who: str
) -> tuple[Stages, list[int]]:
    """A constructor's (stages, base_resolution) as plain ints, checked with its fade and c_dim."""
    stages = copy.deepcopy([[dict(k=int(l["k"]), w=int(l["w"])) for l in s] for s in stages])
    base = [int(base_resolution[0]), int(base_resolution[1])]
    _check_stages(stages, who)
    _check_fade(fade, stages, who)
    if c_dim:
        raise GrowganError("dggan networks are unconditional; set c_dim to 0")
    return stages, base


def _rgb_taps(layout: Stages, fade: str | None) -> list[tuple[str, int]]:
    """(key, width) of G's toRGB or D's fromRGB layers: the one at the RGB end of the top stage
    (``layout[-1][-1]`` in both nets), plus the parent's while fading."""
    s = len(layout) - 1
    taps = [(f"s{s}l{len(layout[s]) - 1}", layout[s][-1]["w"])]
    if fade == "layer":
        taps.append((f"s{s}l{len(layout[s]) - 2}", layout[s][-2]["w"]))
    elif fade == "stage":
        taps.append((f"s{s - 1}l{len(layout[s - 1]) - 1}", layout[s - 1][-1]["w"]))
    return taps


def _resolution(base: list[int], num_stages: int) -> tuple[int, int]:
    scale = 2 ** (num_stages - 1)
    return (int(base[0]) * scale, int(base[1]) * scale)


class ConvLayer(nn.Module):
    """Equalized conv -> leaky ReLU (-> pixel norm in G)."""

    def __init__(self, cin: int, cout: int, k: int, pixel_norm: bool):
        super().__init__()
        self.conv = EqualizedConv2d(cin, cout, k)
        self.norm = PixelNorm() if pixel_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(F.leaky_relu(self.conv(x), 0.2))


class DGGenerator(Network):
    """G(z) -> image [N, C, H, W]; H, W = base_resolution * 2**(len(stages) - 1)."""

    def __init__(
        self,
        stages: Stages,
        z_dim: int = 64,
        img_channels: int = 1,
        base_resolution: list[int] | tuple[int, int] = (8, 8),
        fade: str | None = None,
        c_dim: int = 0,
    ):
        super().__init__()
        stages, base = _checked_spec(stages, base_resolution, fade, c_dim, "G")
        self._record_spec(stages=stages, z_dim=z_dim, img_channels=img_channels, base_resolution=base, fade=fade, c_dim=0)
        self.z_dim, self.c_dim, self.img_channels = z_dim, 0, img_channels
        self.img_resolution = _resolution(base, len(stages))
        self.base, self.layout, self.fade = base, stages, fade
        self.alpha = 1.0  # fade-in weight, set by the growth controller; not in state_dict
        w0 = stages[0][0]["w"]
        self.input = EqualizedLinear(z_dim, w0 * base[0] * base[1], gain=2**0.5 / 4)
        self.input_norm = PixelNorm()
        self.stages = nn.ModuleList()
        cin = w0
        for stage in stages:
            layers = nn.ModuleList()
            for layer in stage:
                layers.append(ConvLayer(cin, layer["w"], layer["k"], pixel_norm=True))
                cin = layer["w"]
            self.stages.append(layers)
        self.to_rgb = nn.ModuleDict({key: EqualizedConv2d(w, img_channels, 1, gain=1.0) for key, w in _rgb_taps(stages, fade)})

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.input(self.input_norm(z)).reshape(z.shape[0], -1, self.base[0], self.base[1])
        x = self.input_norm(F.leaky_relu(x, 0.2))  # [N, w0, h0, w0]
        top = len(self.stages) - 1
        old = None  # the parent's image while fading
        for i, layers in enumerate(self.stages):
            if i > 0:
                if self.fade == "stage" and i == top:
                    key = f"s{i - 1}l{len(self.stages[i - 1]) - 1}"
                    old = upsample2x(self.to_rgb[key](x))  # parent's image, [N, C, 2h, 2w]
                x = upsample2x(x)  # [N, c, h, w] -> [N, c, 2h, 2w]
            for j, layer in enumerate(layers):
                if self.fade == "layer" and i == top and j == len(layers) - 1:
                    old = self.to_rgb[f"s{i}l{j - 1}"](x)  # parent's image
                x = layer(x)
        new = self.to_rgb[f"s{top}l{len(self.stages[top]) - 1}"](x)  # [N, C, H, W]
        return new if old is None else _blend(old, new, self.alpha)


def _blend(old: torch.Tensor, new: torch.Tensor, alpha: float) -> torch.Tensor:
    """(1 - alpha) * old + alpha * new, exactly `old` at alpha = 0 (new still in the graph)."""
    alpha = float(alpha)
    if alpha == 0.0:
        return old + 0.0 * new
    return torch.lerp(old, new, alpha)


class DGDiscriminator(Network):
    """D(image) -> logits [N]. ``stages[i]`` works at ``base * 2**i``, its layers listed from
    the output side: ``{"k", "w"}`` is a layer's kernel and *input* width; its output width is
    the next layer towards the output (``stages[i][j-1]``, or the lower stage's input-most
    layer, or ``head_width``)."""

    def __init__(
        self,
        stages: Stages,
        img_channels: int = 1,
        base_resolution: list[int] | tuple[int, int] = (8, 8),
        head_width: int = 8,
        mbstd_group_size: int = 4,
        fade: str | None = None,
        c_dim: int = 0,
    ):
        super().__init__()
        stages, base = _checked_spec(stages, base_resolution, fade, c_dim, "D")
        self._record_spec(
            stages=stages, img_channels=img_channels, base_resolution=base, head_width=head_width,
            mbstd_group_size=mbstd_group_size, fade=fade, c_dim=0,
        )
        self.c_dim, self.img_channels = 0, img_channels
        self.img_resolution = _resolution(base, len(stages))
        self.layout, self.fade = stages, fade
        self.alpha = 1.0
        self.stages = nn.ModuleList()
        cout = head_width
        for stage in stages:
            layers = nn.ModuleList()
            for layer in stage:  # output side first
                layers.append(ConvLayer(layer["w"], cout, layer["k"], pixel_norm=False))
                cout = layer["w"]
            self.stages.append(layers)
        self.from_rgb = nn.ModuleDict({key: EqualizedConv2d(img_channels, w, 1) for key, w in _rgb_taps(stages, fade)})
        self.mbstd = MinibatchStd(mbstd_group_size)
        self.head_conv = EqualizedConv2d(head_width + 1, head_width, 3)
        self.head_fc = EqualizedLinear(head_width * base[0] * base[1], head_width)
        self.head_out = EqualizedLinear(head_width, 1, gain=1.0)

    def _from_rgb(self, key: str, img: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.from_rgb[key](img), 0.2)

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        top = len(self.stages) - 1
        alpha = float(self.alpha)
        x = self._from_rgb(f"s{top}l{len(self.stages[top]) - 1}", img)
        for i in range(top, -1, -1):
            layers = self.stages[i]
            for j in range(len(layers) - 1, -1, -1):  # input side first
                x = layers[j](x)
                if self.fade == "layer" and i == top and j == len(layers) - 1:
                    old = self._from_rgb(f"s{i}l{j - 1}", img)
                    x = _blend(old, x, alpha)
            if i > 0:
                x = downsample2x(x)  # [N, c, h, w] -> [N, c, h/2, w/2]
                if self.fade == "stage" and i == top:
                    old = self._from_rgb(f"s{i - 1}l{len(self.stages[i - 1]) - 1}", downsample2x(img))
                    x = _blend(old, x, alpha)
        x = self.mbstd(x)  # [N, c + 1, h0, w0]
        x = F.leaky_relu(self.head_conv(x), 0.2)
        x = F.leaky_relu(self.head_fc(x.flatten(1)), 0.2)
        return self.head_out(x).squeeze(1)  # [N]


register_family("dggan", DGGenerator, DGDiscriminator, growable=True,
                example=lambda: apply_action(initial_spec(z_dim=8, width=4), {"op": "grow-resolution"}))


# ---------------------------------------------------------------------------------------
# Specs and actions: pure functions on the JSON spec.


def initial_spec(
    img_channels: int = 1,
    z_dim: int = 64,
    base_resolution: tuple[int, int] = (8, 8),
    width: int = 8,
    kernel: int = 3,
    mbstd_group_size: int = 4,
) -> dict:
    """The paper's starting point: one 3x3 layer per net at 8x8, width 8."""
    layer = {"k": kernel, "w": width}
    base = [int(base_resolution[0]), int(base_resolution[1])]
    return {
        "family": "dggan",
        "G": {"stages": [[dict(layer)]], "z_dim": z_dim, "img_channels": img_channels, "base_resolution": base, "fade": None, "c_dim": 0},
        "D": {
            "stages": [[dict(layer)]], "img_channels": img_channels, "base_resolution": base,
            "head_width": width, "mbstd_group_size": mbstd_group_size, "fade": None, "c_dim": 0,
        },
    }


def action_name(action: dict[str, Any]) -> str:
    """{"op": "G+conv", "k": 3, "w": 16} -> 'G+conv(3,16)'; 'grow-resolution'."""
    if action["op"] == "grow-resolution":
        return "grow-resolution"
    return f"{action['op']}({action['k']},{action['w']})"


def apply_action(spec: dict, action: dict[str, Any]) -> dict:
    """The child spec of `spec` after `action`, with its fade marked (alpha starts at 0).

    ``{"op": "G+conv", "k", "w"}``, ``{"op": "D+conv", "k", "w"}``, or
    ``{"op": "grow-resolution", "k"?, "g_w"?, "d_w"?}`` (new stages default to one 3x3
    layer as wide as the layer they attach to)."""
    if spec.get("family") != "dggan":
        raise GrowganError(f"a DGGAN action needs a dggan spec, got family {spec.get('family')!r}")
    child = settle(spec)
    g, d = child["G"], child["D"]
    op = action["op"]
    if op == "G+conv":
        g["stages"][-1].append({"k": int(action["k"]), "w": int(action["w"])})
        g["fade"] = "layer"
    elif op == "D+conv":
        d["stages"][-1].append({"k": int(action["k"]), "w": int(action["w"])})
        d["fade"] = "layer"
    elif op == "grow-resolution":
        k = int(action.get("k", 3))
        g["stages"].append([{"k": k, "w": int(action.get("g_w", g["stages"][-1][-1]["w"]))}])
        d["stages"].append([{"k": k, "w": int(action.get("d_w", d["stages"][-1][-1]["w"]))}])
        g["fade"] = d["fade"] = "stage"
    else:
        raise GrowganError(f"unknown DGGAN action {op!r}; use G+conv, D+conv or grow-resolution")
    return child


def settle(spec: dict) -> dict:
    """The spec with any fade finished: plain layers, parent's toRGB/fromRGB dropped."""
    out = copy.deepcopy(spec)
    out["G"]["fade"] = None
    out["D"]["fade"] = None
    return out


def is_fading(spec: dict) -> bool:
    return bool(spec["G"].get("fade") or spec["D"].get("fade"))


def spec_resolution(spec: dict) -> tuple[int, int]:
    return _resolution(spec["G"]["base_resolution"], len(spec["G"]["stages"]))


def describe(spec: dict) -> str:
    """A one-line summary: 'G 8:[3x8] 16:[3x8,5x16] | D ...'."""

    def side(net: dict) -> str:
        base = net["base_resolution"][0]
        parts = []
        for i, stage in enumerate(net["stages"]):
            parts.append(f"{base * 2 ** i}:[" + ",".join(f"{l['k']}x{l['w']}" for l in stage) + "]")
        return " ".join(parts)

    return f"G {side(spec['G'])} | D {side(spec['D'])}"
