"""Shared building blocks (Karras et al. 2018, "Progressive Growing of GANs").

Equalized learning rate: weights are drawn from N(0, 1) and scaled at run time by He's
constant gain / sqrt(fan_in), so Adam's per-parameter step sizes act alike on every layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class EqualizedConv2d(nn.Module):
    """Conv2d with run-time He scaling; 'same' padding for odd kernels; bias starts at zero."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = math.sqrt(2), bias: bool = True):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """Linear layer with run-time He scaling; bias starts at zero."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2), bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class PixelNorm(nn.Module):
    """Normalise each pixel's feature vector to unit average square (ProGAN's G)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + self.eps)


def mbstd_group(group_size: int, batch: int) -> int:
    """The group size MinibatchStd uses for a batch of `batch` samples: the largest g <=
    min(group_size, batch) that divides the batch (1 at worst).

    The official ProGAN/StyleGAN code uses min(group_size, batch) and requires it to divide
    the batch; this keeps that choice whenever it divides and otherwise steps down, so a
    batch of 6 with groups of 4 uses groups of 3 instead of failing."""
    g = max(1, min(int(group_size), int(batch)))
    while batch % g:
        g -= 1
    return g


class MinibatchStd(nn.Module):
    """Append the average standard deviation over groups of samples as one more channel.

    As the official code (Karras et al. 2018): groups of `group_size` samples (or the whole
    batch if smaller), std over the group, averaged over C, H, W. A batch the group size
    does not divide uses the largest smaller group size that divides it (`mbstd_group`).
    x: [N, C, H, W] -> [N, C + 1, H, W].
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8):
        super().__init__()
        self.group_size = group_size
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = mbstd_group(self.group_size, n)
        y = x.float().reshape(g, -1, c, h, w)  # [G, M, C, H, W]
        y = y - y.mean(dim=0)
        std = (y.square().mean(dim=0) + self.eps).sqrt()  # [M, C, H, W]
        std = std.mean(dim=(1, 2, 3)).to(x.dtype)  # [M]
        std = std.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)  # [N, 1, H, W]
        return torch.cat([x, std], dim=1)


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour upsampling: [N, C, H, W] -> [N, C, 2H, 2W]."""
    return F.interpolate(x, scale_factor=2, mode="nearest")


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling: [N, C, H, W] -> [N, C, H/2, W/2]."""
    return F.avg_pool2d(x, 2)


# ---------------------------------------------------------------------------- FIR resampling
# StyleGAN2's resampling (Karras et al. 2020, after Zhang 2019 "Making convolutional networks
# shift-invariant again"): a separable [1, 3, 3, 1] low-pass filter, applied after zero-insertion
# to upsample and before subsampling to downsample. R1 and path-length penalties take a
# double backward through it, and autograd's own double backward of a depthwise conv also
# differentiates with respect to the (constant) filter and is slow; `FIRFilter` gives the
# filter a backward that is the same filter again, so every order of derivative costs one
# depthwise convolution (the idea of stylegan2-ada-pytorch's upfirdn2d gradient).


def fir_kernel(taps: tuple[float, ...] = (1.0, 3.0, 3.0, 1.0), gain: float = 1.0) -> torch.Tensor:
    """The separable 2-D kernel outer(f, f) / sum(outer(f, f)) * gain: float32 [K, K]."""
    f = torch.tensor(taps, dtype=torch.float32)
    k = torch.outer(f, f)
    return k / k.sum() * gain


def _fir_conv(x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """Depthwise correlation of every channel of x [N, C, H, W] with kernel [K, K] after
    padding x by pad = (left, right, top, bottom) pixels (negative = crop)."""
    c = int(x.shape[1])  # a constant under tracing (ONNX needs the conv weight's shape)
    w = kernel.to(x.dtype).expand(c, 1, *kernel.shape)  # [C, 1, K, K]
    return F.conv2d(F.pad(x, pad), w, groups=c)


class FIRFilter(torch.autograd.Function):
    """y = depthwise correlation of pad(x) with `kernel`; the gradient with respect to x is the
    correlation of dy with the flipped kernel under the complementary padding, computed by this
    same Function, so it is differentiable again (R1, path length) at the cost of one
    depthwise conv per order. The kernel is a constant (no gradient)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
        ctx.save_for_backward(kernel)
        ctx.pad = pad
        return _fir_conv(x, kernel, pad)

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        (kernel,) = ctx.saved_tensors
        kh, kw = kernel.shape
        l, r, t, b = ctx.pad
        back = (kw - 1 - l, kw - 1 - r, kh - 1 - t, kh - 1 - b)
        return FIRFilter.apply(dy, kernel.flip(0, 1), back), None, None


def fir_filter(x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int, int, int], naive: bool = False) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H + l + r - K + 1, W + t + b - K + 1]. naive=True uses autograd's
    own derivative of the conv (the reference the tests and benchmarks/stylegan2.md compare with).
    Without autograd (inference) or under torch.jit.trace (export) it is the plain conv: same values."""
    if naive or not torch.is_grad_enabled() or torch.jit.is_tracing():
        return _fir_conv(x, kernel, pad)
    return FIRFilter.apply(x, kernel, pad)


def fir_upsample2x(x: torch.Tensor, kernel: torch.Tensor, naive: bool = False, border: int = 0) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, 2H + 2 border, 2W + 2 border]: zero insertion, then the filter
    with gain 4 (so a constant image stays constant). `kernel` is the unit-gain [K, K] kernel
    (K even). border > 0 also returns the filtered signal's `border` pixels beyond each edge
    (what the filter leaks past the image when x is zero outside it): an unpadded k x k conv
    after `border=k // 2` computes upfirdn2d's upsampling conv exactly, edges included."""
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, h, 2, w, 2)
    up[:, :, :, 0, :, 0] = x
    up = up.reshape(n, c, 2 * h, 2 * w)  # x at even pixels, zeros between
    k = kernel.shape[0]
    p0, p1 = (k + 1) // 2 + border, k // 2 - 1 + border  # [1,3,3,1]: pad 2 before, 1 after -> 2H outputs
    return fir_filter(up, kernel * 4, (p0, p1, p0, p1), naive)


def fir_downsample2x(x: torch.Tensor, kernel: torch.Tensor, naive: bool = False) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H/2, W/2]: the low-pass filter (zero padding), then every second
    pixel. (StyleGAN2's downsampling conv pads by the conv's reach instead and filters before
    a stride-2 conv: `growgan.networks.stylegan2.Conv`.)"""
    k = kernel.shape[0]
    p = (k - 2) // 2  # [1,3,3,1]: pad 1 on each side -> H - 1 outputs, take the even ones
    y = fir_filter(x, kernel, (p, p, p, p), naive)
    return y[:, :, ::2, ::2]
