"""The swap loop (benchmarks/stylegan2_swap.py) with NVIDIA's own StyleGAN2 networks as family
"ref": does the reference code collapse on MNIST at the CPU preset's widths too?
(benchmarks/stylegan2.md, session 9)

    python benchmarks/stylegan2_refswap.py --ref STYLEGAN2_ADA_PYTORCH NAME KIMG --G ref --D ref \\
        --data MNIST32 --classifier CLF [any stylegan2_swap.py option, e.g. --phases ref]

--ref is a checkout of NVlabs/stylegan2-ada-pytorch (tested with commit 375a436; its
`training/networks.py` and the `torch_utils` and `dnnlib` packages it imports, which run on
the CPU through their pure-PyTorch reference paths). Nothing of it is part of growgan: this
script only imports it. "ref" builds its Generator and Discriminator at the widths the swap
loop gives the stylegan2 family (z = w = 128, 4 mapping layers, channel_base 1024 /
channel_max 128, so 128-128-64-32 channels; skip G, residual D, minibatch-stddev groups of 4,
conv clamp 256, float32): the same parameter count as growgan's (781,739 and 871,521).
G mixes styles with probability 0.9 in training mode as stylegan2-ada's loss does (one
crossover per batch, the second latent's ws without a w_avg update); eval mode uses its
constant noise.
"""

from __future__ import annotations

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stylegan2_swap as swap  # noqa: E402  (benchmarks/, this script's folder)


def _reference_path() -> str:
    if "--ref" not in sys.argv or sys.argv.index("--ref") + 1 >= len(sys.argv):
        sys.exit("stylegan2_refswap.py: --ref PATH (a checkout of NVlabs/stylegan2-ada-pytorch) is required")
    i = sys.argv.index("--ref")
    path = sys.argv[i + 1]
    del sys.argv[i:i + 2]
    if not os.path.isfile(os.path.join(path, "training", "networks.py")):
        sys.exit(f"stylegan2_refswap.py: {path}: no training/networks.py; give a stylegan2-ada-pytorch checkout")
    return path


class RefG(nn.Module):
    """stylegan2-ada's Generator behind the swap loop's G(z) interface."""

    def __init__(self, networks, mix: float = 0.9):
        super().__init__()
        self.G = networks.Generator(z_dim=128, c_dim=0, w_dim=128, img_resolution=32, img_channels=1,
                                    mapping_kwargs=dict(num_layers=4),
                                    synthesis_kwargs=dict(channel_base=1024, channel_max=128, num_fp16_res=0,
                                                          conv_clamp=256, architecture="skip"))
        self.z_dim, self.mix = 128, mix

    def forward(self, z: torch.Tensor, c=None) -> torch.Tensor:
        ws = self.G.mapping(z, None)
        if self.training and self.mix > 0:  # as stylegan2-ada's StyleGAN2Loss.run_G
            cutoff = torch.empty([], dtype=torch.int64).random_(1, ws.shape[1])
            cutoff = torch.where(torch.rand([]) < self.mix, cutoff, torch.full_like(cutoff, ws.shape[1]))
            ws[:, cutoff:] = self.G.mapping(torch.randn_like(z), None, skip_w_avg_update=True)[:, cutoff:]
        return self.G.synthesis(ws, noise_mode="random" if self.training else "const")


class RefD(nn.Module):
    """stylegan2-ada's Discriminator behind the swap loop's D(x) interface."""

    def __init__(self, networks):
        super().__init__()
        self.D = networks.Discriminator(c_dim=0, img_resolution=32, img_channels=1, architecture="resnet",
                                        channel_base=1024, channel_max=128, num_fp16_res=0, conv_clamp=256,
                                        epilogue_kwargs=dict(mbstd_group_size=4))

    def forward(self, x: torch.Tensor, c=None) -> torch.Tensor:
        return self.D(x, None)


def main() -> None:
    sys.path.insert(0, _reference_path())
    from training import networks  # the reference checkout's

    growgan_build = swap.build

    def build(family: str, part: str, extra: dict) -> nn.Module:
        if family == "ref":
            return RefG(networks, **extra) if part == "G" else RefD(networks)
        return growgan_build(family, part, extra)

    swap.build = build
    swap.WIDTH_KEYS["ref"] = ({}, {})
    swap.main()


if __name__ == "__main__":
    main()
