"""StyleGAN2 (Karras et al., CVPR 2020, "Analyzing and Improving the Image Quality of StyleGAN"),
configs E/F: skip generator, residual discriminator, in pure PyTorch (no custom CUDA kernels).

Facts taken from the paper and from NVlabs/stylegan2-ada-pytorch (the code is our own):

- Mapping network: z normalised to unit second moment, optionally concatenated with a class
  embedding (an equalized FC of the one-hot label, also normalised: stylegan2-ada's ``c_dim``),
  then `mapping_layers` (8) equalized FC layers with leaky ReLU and a learning-rate multiplier
  of 0.01. It tracks ``w_avg`` (moving average of w, decay 0.995) in training mode; the
  truncation trick ``w = w_avg + psi (w - w_avg)`` applies to the first `truncation_cutoff` ws.
- Synthesis: a learned constant at the base resolution (4x4 for square images; the
  archive's aspect otherwise, e.g. 4x8 for 32x64 images), then per resolution two
  modulated 3x3 convolutions (one at 4x4) with weight demodulation, computed as one grouped
  convolution per layer (the "fused" formulation: one group per sample), per-pixel noise
  with a learned strength, bias, leaky ReLU * sqrt(2), and an output clamp (``conv_clamp``).
  Skip architecture: a modulated 1x1 toRGB (no demodulation) at every resolution, summed
  into the upsampled image. Upsampling is zero insertion and the [1, 3, 3, 1] FIR filter
  (`growgan.layers.fir_upsample2x`, whose custom backward keeps R1/path length fast).
  The resampling convs compute conv2d_resample's linear map exactly, edges included, and
  in its order, so the 3x3 conv runs at the low resolution (4x fewer multiply-adds than
  convolving the upsampled map or convolving before subsampling): G's up-conv is a stride-2
  transposed conv followed by the filter (gain 4, one pixel of padding per side); D's
  down-conv is the filter (two pixels of padding per side) followed by a stride-2 3x3 conv.
  Before session 6 both zero-padded the intermediate instead, which changed the outer ring of
  every resampled map (44 % of an 8x8 map). Networks loaded from such checkpoints keep that
  math (a missing ``exact_edges`` buffer loads as 0). Our up-conv weight is stored as a
  correlation kernel (the 3x3 conv that follows upsampling) where the reference's transposed
  conv takes a convolution kernel, so our up-conv weights are the reference's flipped in both
  spatial axes: the same N(0, 1) initial distribution.
  tests/networks/test_stylegan2_reference.py checks G and D, outputs and gradients, against
  an independent transcription of stylegan2-ada's equations.
- The generator mixes styles in training mode: with probability `style_mixing_prob` (0.9)
  the ws from a second latent replace those from a random crossover index on.
- Noise: fresh N(0, 1) per call in training mode, fixed per-layer buffers in eval mode
  (stylegan2-ada's ``noise_mode='const'``), so an eval-mode G is deterministic.
- Discriminator (residual, ``architecture="resnet"``): fromRGB at full resolution, per
  resolution conv 3x3 -> conv 3x3 -> FIR downsample, plus a skip path FIR downsample -> 1x1
  conv, summed with gain sqrt(1/2) (``"orig"``: no skip path, as stylegan2-ada's ``cifar``
  config); at the base resolution minibatch-stddev, conv 3x3, FC, FC -> logit. A
  conditional D uses the projection of an embedded label onto its last features
  (stylegan2-ada's ``cmap``). Widths: min(fmap_base / resolution, fmap_max) per resolution.

- Mixed precision as stylegan2-ada (`num_fp16_res`, G and D spec key, default 0 = off): the
  top `num_fp16_res` resolutions (never the base 4x4 block) compute their activations in
  float16 while weights, styles, demodulation coefficients, the skip image and the rest of
  the network stay float32; ``conv_clamp`` (256) clamps every conv's output, which is what
  keeps float16 activations finite. "Where the device supports it": only on CUDA, and only
  outside the engine's autocast (``amp=off``; under autocast, autocast decides). Everywhere
  else those blocks run in float32, so CPU runs are unchanged and bit-reproducible. See
  `block_dtype`. As in stylegan2-ada there is no loss scaling for these blocks; the engine
  instead replaces NaN/inf gradients of such a network before each step
  (`growgan.training.task.clean_reduced_precision_grads`). Not validated on a GPU here (none
  was available; benchmarks/gpu_session.sh is prepared for one).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.errors import GrowganError
from growgan import layers as growgan_layers  # fir_filter through the module: benchmarks swap in its naive gradient
from growgan.layers import MinibatchStd, fir_downsample2x, fir_kernel, fir_upsample2x
from growgan.networks.common import check_labels, check_sizes
from growgan.networks.registry import Network, register_family

SQRT2 = math.sqrt(2.0)
MIN_RES, MAX_RES = 8, 1024


def fp16_blocks(n: int, num_fp16_res: int) -> list[bool]:
    """Which of the n + 1 synthesis blocks (index 0 = the base 4x4 block, n = full resolution)
    run in reduced precision: the top `num_fp16_res`, never the base block (stylegan2-ada:
    fp16_resolution = max(2 ** (log2(resolution) + 1 - num_fp16_res), 8))."""
    return [i >= 1 and i >= n + 1 - num_fp16_res for i in range(n + 1)]


def block_dtype(use_fp16: bool, device: torch.device, cpu_dtype: torch.dtype | None = None,
                default: torch.dtype = torch.float32) -> torch.dtype:
    """The activation dtype of a block: float16 for an fp16 block on CUDA outside autocast;
    `default` (the network input's dtype, float32) otherwise: CPU, MPS, under autocast, or a
    block that is not fp16. `cpu_dtype` (a network's ``reduced_cpu_dtype``, None by default)
    stands in for float16 off CUDA, so the tests can run the reduced-precision path on a CPU
    (with bfloat16: CPUs have no fast float16 convs)."""
    if not use_fp16 or torch.is_autocast_enabled(device.type):
        return default
    if device.type == "cuda":
        return torch.float16
    return cpu_dtype or default


# ---------------------------------------------------------------------------- helpers
def _lrelu(x: torch.Tensor, clamp: float = 0.0) -> torch.Tensor:
    """leaky ReLU(0.2) * sqrt(2) (He gain), clamped to [-clamp, clamp] when clamp > 0."""
    x = F.leaky_relu(x, 0.2) * SQRT2
    return x.clamp(-clamp, clamp) if clamp > 0 else x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each row of x [N, D] scaled to unit mean square."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def check_resolution(img_resolution: int | Sequence[int]) -> tuple[tuple[int, int], tuple[int, int], int]:
    """(H, W) -> ((H, W), (h0, w0) the base resolution, number of doublings). H and W are
    powers of two in [8, 1024]; the shorter side starts at 4 pixels."""
    if isinstance(img_resolution, int):
        h = w = int(img_resolution)
    else:
        h, w = (int(v) for v in img_resolution)
    ok = all(MIN_RES <= v <= MAX_RES and v & (v - 1) == 0 for v in (h, w))
    if not ok:
        raise GrowganError(f"stylegan2 networks cannot be built for {h}x{w} images; use powers of two "
                           f"from {MIN_RES} to {MAX_RES} per side (repack or resize the data)")
    n = int(math.log2(min(h, w))) - 2
    return (h, w), (h >> n, w >> n), n


def widths(n: int, base: tuple[int, int], fmap_base: int, fmap_max: int) -> list[int]:
    """Channels at the base resolution and after each doubling: min(fmap_base / side, fmap_max),
    side = the shorter side at that stage."""
    return [max(1, min(fmap_base // (min(base) << i), fmap_max)) for i in range(n + 1)]


class FC(nn.Module):
    """Equalized-LR fully connected layer with a learning-rate multiplier (stylegan2-ada's
    FullyConnectedLayer): weights N(0, 1)/lr_mul scaled by lr_mul/sqrt(in) at run time."""

    def __init__(self, cin: int, cout: int, act: bool = True, lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init) / lr_mul))
        self.w_gain, self.b_gain, self.act = lr_mul / math.sqrt(cin), lr_mul, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.w_gain, self.bias * self.b_gain)
        return _lrelu(x) if self.act else x


def _load_edges(module: nn.Module, resamples: bool, state_dict: dict, prefix: str) -> None:
    """Before loading a resampling conv: a state dict written before the edge fix (no
    `exact_edges` entry) gets 0 there, so the network keeps the math it was trained with;
    the module's Python flag follows the loaded value."""
    if not resamples:
        return
    key = prefix + "exact_edges"
    if key not in state_dict and any(k.startswith(prefix) for k in state_dict):
        state_dict[key] = torch.tensor(0.0)
    if key in state_dict:
        module.exact_edges_ = bool(float(state_dict[key]) > 0)


class Conv(nn.Module):
    """Equalized-LR conv (D's layers) with optional FIR downsampling after it."""

    def __init__(self, cin: int, cout: int, k: int, act: bool = True, bias: bool = True, down: bool = False,
                 clamp: float = 0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.w_gain, self.act, self.down, self.clamp = 1 / math.sqrt(cin * k * k), act, down, clamp
        self.register_buffer("fir", fir_kernel(), persistent=False)
        self.exact_edges_ = True  # mirrors the buffer as a Python bool (no tensor test in forward / tracing)
        if down and k > 1:  # 1: exact edges (conv2d_resample); 0: checkpoints written before the fix
            self.register_buffer("exact_edges", torch.tensor(1.0))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        _load_edges(self, self.down and self.weight.shape[-1] > 1, state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        k = self.weight.shape[-1]
        weight = (self.weight * self.w_gain).to(x.dtype)
        if self.down and k == 1:  # 1x1 skip: downsample first (they commute), 4x fewer FLOPs
            x = F.conv2d(fir_downsample2x(x, self.fir), weight)
        elif self.down and self.exact_edges_:
            # conv2d_resample's order: the filter over the input padded by the conv's reach
            # plus the filter's own, then a stride-2 conv (edges included; 4x fewer FLOPs
            # than a full-resolution conv followed by subsampling)
            p = k // 2 + (self.fir.shape[0] - 1) // 2
            x = F.conv2d(growgan_layers.fir_filter(x, self.fir, (p, p, p, p)), weight, stride=2)
        elif self.down:  # checkpoints written before the edge fix: conv, then zero-padded filter
            x = fir_downsample2x(F.conv2d(x, weight, padding=k // 2), self.fir)
        else:
            x = F.conv2d(x, weight, padding=k // 2)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        if self.act:
            return _lrelu(x * gain, self.clamp * gain)
        x = x * gain
        return x.clamp(-self.clamp * gain, self.clamp * gain) if self.clamp > 0 else x


# ---------------------------------------------------------------------------- modulated convolution
def _autocast_enabled(device_type: str) -> bool:
    """Whether autocast is on for `device_type` ("cpu", "cuda", ...), on torch 2.3 as on later."""
    try:
        return bool(torch.is_autocast_enabled(device_type))
    except TypeError:  # torch < 2.4: no device argument
        return bool(torch.is_autocast_enabled() if device_type == "cuda" else torch.is_autocast_cpu_enabled())
    except RuntimeError:  # a device type autocast does not know
        return False


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     padding: int = 0, eps: float = 1e-8, up: bool = False, fused: bool | None = None) -> torch.Tensor:
    """StyleGAN2's modulated convolution (the paper's eqs. 1-3).

    x [N, I, H, W], weight [O, I, K, K], styles [N, I] -> [N, O, H', W'].
    w'_noik = s_ni * w_oik; with demodulation w''_no = w'_no / sqrt(sum_ik w'^2 + eps) per
    output channel, so for unit-variance, independent inputs the outputs keep unit variance.
    The demodulation coefficients are computed without forming w', as
    rsqrt(sum_i styles_ni^2 sum_k w_oik^2 + eps), [N, O], always in float32 (elementwise, so
    that autocast cannot run the sum in float16, where it overflows past 65504).
    up=True: a stride-2 transposed convolution instead, with the spatially flipped weight
    (so that, followed by the up-filter, it equals the correlation of the zero-inserted,
    filtered input with `weight`): [N, O, 2H + K - 2, 2W + K - 2]; `padding` is ignored.

    Two formulations of the same map, as stylegan2-ada-pytorch has:
    - fused=True: one grouped convolution (one group per sample) with the per-sample weights
      w'' formed in float32; only the convolution runs in x's dtype (or autocast's). The
      default for reduced-precision x (the fp16 blocks) and under autocast, where the
      unnormalised convolution of the other form could overflow float16.
    - fused=False: modulate x, one ordinary batched convolution with the shared weight,
      scale the outputs by the coefficients (stylegan2-ada's training path). The default for
      float32 x outside autocast: 2-3x faster on CPU, where a grouped convolution of N groups
      is slow. Also what torch.jit.trace records (export), so the traced graph does not fix
      the batch size.
    """
    n, cin, h, w = x.shape
    cout = weight.shape[0]
    if up:
        weight = weight.flip(2, 3)  # correlation kernel -> the transposed conv's convolution kernel
    wide = torch.promote_types(weight.dtype, torch.float32)  # float32 (float64 stays float64)
    styles = styles.to(wide)  # the affine layer's output is float16/bfloat16 under autocast
    if demodulate:
        wsq = weight.to(wide).square().sum(dim=(2, 3))  # [O, I]
        d = ((styles.square().unsqueeze(1) * wsq.unsqueeze(0)).sum(dim=2) + eps).rsqrt()  # [N, O], float32
    if fused is None:
        fused = x.dtype != torch.float32 or _autocast_enabled(x.device.type)
    if torch.jit.is_tracing() or not fused:
        xs = x * styles.to(x.dtype).reshape(n, cin, 1, 1)
        if up:
            y = F.conv_transpose2d(xs, weight.transpose(0, 1).to(x.dtype), stride=2)
        else:
            y = F.conv2d(xs, weight.to(x.dtype), padding=padding)
        return y * d.to(y.dtype).reshape(n, cout, 1, 1) if demodulate else y
    wt = weight.unsqueeze(0) * styles.reshape(n, 1, cin, 1, 1)  # [N, O, I, K, K]
    if demodulate:
        wt = wt * d.reshape(n, cout, 1, 1, 1)
    if up:  # [N, O, I, K, K] -> [N * I, O, K, K]: grouped transposed conv
        wt = wt.transpose(1, 2).to(x.dtype).reshape(n * cin, cout, *weight.shape[2:])
        y = F.conv_transpose2d(x.reshape(1, n * cin, h, w), wt, stride=2, groups=n)
    else:
        wt = wt.to(x.dtype).reshape(n * cout, cin, *weight.shape[2:])
        y = F.conv2d(x.reshape(1, n * cin, h, w), wt, padding=padding, groups=n)
    return y.reshape(n, cout, *y.shape[2:])


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally after 2x FIR upsampling) + noise + bias + lrelu + clamp.
    use_noise=False: no noise input (stylegan2-ada's SynthesisLayer ``use_noise``)."""

    def __init__(self, cin: int, cout: int, w_dim: int, size: tuple[int, int], up: bool, clamp: float,
                 use_noise: bool = True):
        super().__init__()
        self.affine = FC(w_dim, cin, act=False, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.use_noise = use_noise
        if use_noise:
            self.noise_strength = nn.Parameter(torch.zeros([]))
            self.register_buffer("noise_const", torch.randn(1, 1, *size))
        self.register_buffer("fir", fir_kernel(), persistent=False)
        self.up, self.clamp = up, clamp
        self.exact_edges_ = True  # mirrors the buffer as a Python bool (no tensor test in forward / tracing)
        if up:  # 1: exact edges (conv2d_resample); 0: checkpoints written before (see _load_from_state_dict)
            self.register_buffer("exact_edges", torch.tensor(1.0))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        _load_edges(self, self.up, state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        styles = self.affine(w)
        if self.up and self.exact_edges_:  # conv2d_resample's up-conv: transposed conv, then the filter
            x = modulated_conv2d(x, self.weight, styles, demodulate=True, up=True)  # [N, O, 2H + 1, 2W + 1]
            x = growgan_layers.fir_filter(x, self.fir * 4, (1, 1, 1, 1))  # [N, O, 2H, 2W]
        elif self.up:  # checkpoints written before the edge fix: zero-padded upsampling, padded conv
            x = modulated_conv2d(fir_upsample2x(x, self.fir), self.weight, styles, demodulate=True, padding=1)
        else:
            x = modulated_conv2d(x, self.weight, styles, demodulate=True, padding=1)  # [N, O, H, W]
        if self.use_noise and noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype) * self.noise_strength.to(x.dtype)
        elif self.use_noise and noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * self.noise_strength.to(x.dtype)
        return _lrelu(x + self.bias.to(x.dtype).reshape(1, -1, 1, 1), self.clamp)


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation (styles scaled by 1/sqrt(in)), bias, clamp."""

    def __init__(self, cin: int, img_channels: int, w_dim: int, clamp: float):
        super().__init__()
        self.affine = FC(w_dim, cin, act=False, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(img_channels, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.gain, self.clamp = 1 / math.sqrt(cin), clamp

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        y = modulated_conv2d(x, self.weight, self.affine(w) * self.gain, demodulate=False)
        y = y + self.bias.to(y.dtype).reshape(1, -1, 1, 1)
        return y.clamp(-self.clamp, self.clamp) if self.clamp > 0 else y


# ---------------------------------------------------------------------------- the mapping network
class StyleMapping(nn.Module):
    """The mapping network and what hangs on it (w_avg, truncation, style mixing), shared by
    the stylegan2 and stylegan (v1) generators. A subclass calls `_build_mapping` in its
    constructor and sets ``num_ws``."""

    num_ws: int

    def _build_mapping(self, z_dim: int, c_dim: int, w_dim: int, mapping_layers: int, mapping_lr_mul: float,
                       style_mixing_prob: float, w_avg_beta: float) -> None:
        for key, value, ok, needs in (("style_mixing_prob", style_mixing_prob, 0 <= style_mixing_prob <= 1, "in [0, 1]"),
                                      ("w_avg_beta", w_avg_beta, 0 <= w_avg_beta < 1, "in [0, 1)"),
                                      ("mapping_lr_mul", mapping_lr_mul, mapping_lr_mul > 0, "> 0")):
            if not ok:  # name the key that is wrong, not all three
                raise GrowganError(f"{self.family or 'stylegan'} network spec: {key}={value!r} is not valid; "
                                   f"{key} needs a number {needs}")
        self.w_dim, self.style_mixing_prob, self.w_avg_beta = w_dim, float(style_mixing_prob), float(w_avg_beta)
        self.embed = FC(c_dim, w_dim, act=False) if c_dim > 0 else None
        dims = [z_dim + (w_dim if c_dim > 0 else 0)] + [w_dim] * mapping_layers
        self.mapping_net = nn.Sequential(*[FC(a, b, lr_mul=mapping_lr_mul) for a, b in zip(dims[:-1], dims[1:])])
        self.register_buffer("w_avg", torch.zeros(w_dim))

    # ------------------------------------------------------------------ mapping
    def mapping(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_w_avg: bool | None = None) -> torch.Tensor:
        """z [N, z_dim] (c int64 [N]) -> ws [N, num_ws, w_dim]. In training mode (or with
        update_w_avg=True) w_avg moves towards the batch mean of w. Truncation (psi < 1)
        pulls the first `truncation_cutoff` ws (all when None) towards w_avg."""
        x = normalize_2nd_moment(z.reshape(z.shape[0], self.z_dim).float())
        if self.embed is not None:
            onehot = F.one_hot(check_labels(c, self.c_dim, z.shape[0]), self.c_dim).to(x.dtype)
            x = torch.cat([x, normalize_2nd_moment(self.embed(onehot))], dim=1)  # [N, z_dim + w_dim]
        w = self.mapping_net(x)  # [N, w_dim]
        if update_w_avg if update_w_avg is not None else self.training:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        ws = w.unsqueeze(1).repeat(1, self.num_ws, 1)  # [N, num_ws, w_dim]
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else int(truncation_cutoff)
            ws = torch.cat([self.w_avg.to(ws.dtype).lerp(ws[:, :cut], truncation_psi), ws[:, cut:]], dim=1)
        return ws

    @staticmethod
    def mix_styles(ws: torch.Tensor, ws2: torch.Tensor, cutoff: int) -> torch.Tensor:
        """Style mixing: ws [N, L, w_dim] below index `cutoff`, ws2 from `cutoff` on."""
        return torch.cat([ws[:, :cutoff], ws2[:, cutoff:]], dim=1)

    def _mix_randomly(self, ws: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """With probability style_mixing_prob, the ws of a second latent from a crossover
        index drawn uniformly in [1, num_ws) (one per batch, as stylegan2-ada). Draws from
        the global torch RNG, which the training loop saves in checkpoints."""
        if self.style_mixing_prob <= 0 or self.num_ws < 2:
            return ws
        mix = torch.rand([]) < self.style_mixing_prob
        cutoff = int(torch.randint(1, self.num_ws, [])) if mix else self.num_ws
        if cutoff >= self.num_ws:
            return ws
        z2 = torch.randn(ws.shape[0], self.z_dim, device=ws.device)
        return self.mix_styles(ws, self.mapping(z2, c, update_w_avg=False), cutoff)

    def sample_ws(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                  truncation_cutoff: int | None = None) -> torch.Tensor:
        """The ws forward() synthesises: mapping, and style mixing in training mode."""
        ws = self.mapping(z, c, truncation_psi, truncation_cutoff)
        return self._mix_randomly(ws, c) if self.training else ws


# ---------------------------------------------------------------------------- generator
class StyleGAN2Generator(Network, StyleMapping):
    """G(z [N, z_dim], c int64 [N] | None) -> images float [N, img_channels, H, W] in about [-1, 1].

    Also: `mapping(z, c, truncation_psi, truncation_cutoff) -> ws [N, num_ws, w_dim]`,
    `sample_ws` (mapping + training-mode style mixing),
    `synthesis(ws, noise_mode) -> images`, `mix_styles(ws, ws2, cutoff)`. forward() mixes
    styles (training mode) and accepts `truncation_psi`, `truncation_cutoff`, `noise_mode`
    ("random", "const" or "none"; default: random in training mode, const in eval mode).
    """

    def __init__(
        self,
        z_dim: int = 512,
        c_dim: int = 0,
        img_channels: int = 3,
        img_resolution: int | Sequence[int] = 256,
        w_dim: int = 512,
        mapping_layers: int = 8,
        mapping_lr_mul: float = 0.01,
        fmap_base: int = 32768,
        fmap_max: int = 512,
        conv_clamp: float = 256.0,
        style_mixing_prob: float = 0.9,
        w_avg_beta: float = 0.995,
        num_fp16_res: int = 0,
        use_noise: bool = True,
    ):
        super().__init__()
        (h, w), base, n = check_resolution(img_resolution)
        check_sizes("stylegan2", c_dim, z_dim=z_dim, img_channels=img_channels, w_dim=w_dim, mapping_layers=mapping_layers,
                    fmap_base=fmap_base, fmap_max=fmap_max)
        check_precision(conv_clamp, num_fp16_res)
        self._record_spec(z_dim=z_dim, c_dim=c_dim, img_channels=img_channels, img_resolution=[h, w], w_dim=w_dim,
                          mapping_layers=mapping_layers, mapping_lr_mul=mapping_lr_mul, fmap_base=fmap_base,
                          fmap_max=fmap_max, conv_clamp=conv_clamp, style_mixing_prob=style_mixing_prob,
                          w_avg_beta=w_avg_beta, num_fp16_res=num_fp16_res, use_noise=use_noise)
        self.use_fp16 = fp16_blocks(n, num_fp16_res)  # per synthesis block, base first
        self.reduced_cpu_dtype: torch.dtype | None = None  # see block_dtype (tests only)
        self.z_dim, self.c_dim, self.img_channels, self.img_resolution = z_dim, c_dim, img_channels, (h, w)
        self._build_mapping(z_dim, c_dim, w_dim, mapping_layers, mapping_lr_mul, style_mixing_prob, w_avg_beta)
        # synthesis network
        ch = widths(n, base, fmap_base, fmap_max)
        self.const = nn.Parameter(torch.randn(ch[0], *base))
        layers = [SynthesisLayer(ch[0], ch[0], w_dim, base, False, conv_clamp, use_noise)]
        rgbs = [ToRGB(ch[0], img_channels, w_dim, conv_clamp)]
        for i in range(1, n + 1):
            size = (base[0] << i, base[1] << i)
            layers += [SynthesisLayer(ch[i - 1], ch[i], w_dim, size, True, conv_clamp, use_noise),
                       SynthesisLayer(ch[i], ch[i], w_dim, size, False, conv_clamp, use_noise)]
            rgbs.append(ToRGB(ch[i], img_channels, w_dim, conv_clamp))
        self.layers, self.torgb = nn.ModuleList(layers), nn.ModuleList(rgbs)
        self.num_ws = len(layers) + 1  # one w per conv, and the last toRGB's
        self.register_buffer("fir", fir_kernel(), persistent=False)

    # ------------------------------------------------------------------ synthesis
    def synthesis(self, ws: torch.Tensor, noise_mode: str | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> images [N, img_channels, H, W]."""
        if noise_mode is None:
            noise_mode = "random" if self.training else "const"
        if noise_mode not in ("random", "const", "none"):
            raise ValueError(f"noise_mode must be random, const or none, got {noise_mode!r}")
        n = ws.shape[0]
        x = self.const.unsqueeze(0).expand(n, -1, -1, -1).to(ws.dtype)
        x = self.layers[0](x, ws[:, 0], noise_mode)
        img = self.torgb[0](x, ws[:, 1])
        for i in range(1, len(self.torgb)):
            x = x.to(block_dtype(self.use_fp16[i], x.device, self.reduced_cpu_dtype, ws.dtype))
            x = self.layers[2 * i - 1](x, ws[:, 2 * i - 1], noise_mode)
            x = self.layers[2 * i](x, ws[:, 2 * i], noise_mode)
            img = fir_upsample2x(img, self.fir) + self.torgb[i](x, ws[:, 2 * i + 1]).to(img.dtype)  # the image stays float32
        return img

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str | None = None) -> torch.Tensor:
        return self.synthesis(self.sample_ws(z, c, truncation_psi, truncation_cutoff), noise_mode)


def check_precision(conv_clamp: float, num_fp16_res: int) -> None:
    """One-line errors for the precision keys of a stylegan2 spec."""
    if conv_clamp < 0:
        raise GrowganError(f"stylegan2 network spec: conv_clamp={conv_clamp!r} is not valid; conv_clamp needs a number "
                           ">= 0 (0 = off)")
    if isinstance(num_fp16_res, bool) or not isinstance(num_fp16_res, int) or num_fp16_res < 0:
        raise GrowganError(f"stylegan2 network spec: num_fp16_res={num_fp16_res!r} needs a whole number >= 0 "
                           "(the top resolutions computed in float16 on CUDA; 0 = off)")


# ---------------------------------------------------------------------------- discriminator
class DBlock(nn.Module):
    """[N, cin, H, W] -> [N, cout, H/2, W/2]: conv3x3 -> conv3x3 + FIR down. Residual
    (stylegan2-ada's ``architecture='resnet'``, config E/F): plus a skip (FIR down -> 1x1
    conv), each path with gain sqrt(1/2) (a residual block of unit variance). Plain
    (``'orig'``, the ``cifar`` config's D): the two convs alone, gain 1."""

    def __init__(self, cin: int, cout: int, clamp: float, residual: bool = True):
        super().__init__()
        self.conv0 = Conv(cin, cin, 3, clamp=clamp)
        self.conv1 = Conv(cin, cout, 3, down=True, clamp=clamp)
        self.skip = Conv(cin, cout, 1, act=False, bias=False, down=True) if residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # in x's dtype
        if self.skip is None:
            return self.conv1(self.conv0(x))
        y = self.skip(x, gain=math.sqrt(0.5))
        return self.conv1(self.conv0(x), gain=math.sqrt(0.5)) + y


D_ARCHITECTURES = ("resnet", "orig")


class StyleGAN2Discriminator(Network):
    """D(images [N, img_channels, H, W], c int64 [N] | None) -> logits [N]. `architecture`:
    "resnet" (residual blocks, the paper's config E/F; default) or "orig" (plain conv blocks,
    stylegan2-ada's ``cifar`` config)."""

    def __init__(
        self,
        z_dim: int = 512,
        c_dim: int = 0,
        img_channels: int = 3,
        img_resolution: int | Sequence[int] = 256,
        fmap_base: int = 32768,
        fmap_max: int = 512,
        conv_clamp: float = 256.0,
        mbstd_group_size: int = 4,
        num_fp16_res: int = 0,
        architecture: str = "resnet",
    ):
        super().__init__()
        (h, w), base, n = check_resolution(img_resolution)
        check_sizes("stylegan2", c_dim, z_dim=z_dim, img_channels=img_channels, fmap_base=fmap_base, fmap_max=fmap_max,
                    mbstd_group_size=mbstd_group_size)
        check_precision(conv_clamp, num_fp16_res)
        if architecture not in D_ARCHITECTURES:
            raise GrowganError(f"stylegan2 network spec D: architecture={architecture!r} is not one of "
                               f"{', '.join(D_ARCHITECTURES)} (residual blocks, or plain conv blocks as stylegan2-ada's cifar config)")
        self._record_spec(z_dim=z_dim, c_dim=c_dim, img_channels=img_channels, img_resolution=[h, w],
                          fmap_base=fmap_base, fmap_max=fmap_max, conv_clamp=conv_clamp, mbstd_group_size=mbstd_group_size,
                          num_fp16_res=num_fp16_res, architecture=architecture)
        # D block i reduces resolution index n - i (n = full resolution): fp16 for the top ones, as G
        self.use_fp16 = fp16_blocks(n, num_fp16_res)[::-1][:n]  # per D block, full resolution first
        self.reduced_cpu_dtype: torch.dtype | None = None  # see block_dtype (tests only)
        self.z_dim, self.c_dim, self.img_channels, self.img_resolution = z_dim, c_dim, img_channels, (h, w)
        ch = widths(n, base, fmap_base, fmap_max)[::-1]  # full resolution first
        self.fromrgb = Conv(img_channels, ch[0], 1, clamp=conv_clamp)
        self.blocks = nn.ModuleList(DBlock(ch[i], ch[i + 1], conv_clamp, architecture == "resnet") for i in range(n))
        c0 = ch[-1]
        self.mbstd = MinibatchStd(mbstd_group_size)
        self.conv = Conv(c0 + 1, c0, 3, clamp=conv_clamp)
        self.fc = FC(c0 * base[0] * base[1], c0)
        self.out = FC(c0, c0 if c_dim > 0 else 1, act=False)
        self.embed = FC(c_dim, c0, act=False) if c_dim > 0 else None

    def features(self, img: torch.Tensor) -> torch.Tensor:
        """D's last hidden features [N, C] (before the output layer): GDPP's phi."""
        dt = lambda i: block_dtype(self.use_fp16[i], img.device, self.reduced_cpu_dtype, img.dtype)  # noqa: E731
        x = self.fromrgb(img.to(dt(0)))  # fromRGB belongs to the first block
        for i, block in enumerate(self.blocks):
            x = block(x.to(dt(i)))
        x = self.conv(self.mbstd(x.to(img.dtype)))  # [N, C, h0, w0]: the epilogue in the input's dtype
        return self.fc(x.flatten(1))  # [N, C]

    def forward(self, img: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        x = self.out(self.features(img))  # [N, 1] or [N, C]
        if self.embed is None:
            return x.reshape(img.shape[0])
        onehot = F.one_hot(check_labels(c, self.c_dim, img.shape[0]), self.c_dim).to(x.dtype)
        cmap = normalize_2nd_moment(self.embed(onehot))  # projection (stylegan2-ada's cmap)
        return (x * cmap).sum(dim=1) / np.sqrt(cmap.shape[1])


def _example() -> dict:
    g = {"z_dim": 8, "img_channels": 3, "img_resolution": [8, 16], "w_dim": 8, "mapping_layers": 2,
         "fmap_base": 32, "fmap_max": 8}
    d = {"z_dim": 8, "img_channels": 3, "img_resolution": [8, 16], "fmap_base": 32, "fmap_max": 8}
    return {"family": "stylegan2", "G": g, "D": d}


register_family("stylegan2", StyleGAN2Generator, StyleGAN2Discriminator, example=_example)
