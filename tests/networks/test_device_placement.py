"""Every tensor a network uses must move with ``net.to(device)``: parameters and buffers do,
a tensor kept as a plain attribute (a filter kernel, a constant) stays on the CPU and breaks
the network on a GPU. Checked for every registered family."""

from __future__ import annotations

import pytest
import torch

from growgan.networks.registry import build_networks, example_spec, family_names, sample_inputs

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def _plain_tensors(net: torch.nn.Module) -> list[str]:
    return [f"{name or type(net).__name__}.{attr}" for name, m in net.named_modules()
            for attr, v in vars(m).items() if isinstance(v, torch.Tensor)]


@pytest.mark.parametrize("family", family_names())
def test_networks_keep_no_tensor_outside_parameters_and_buffers(family):
    G, D = build_networks(example_spec(family))
    inputs = sample_inputs(G, 2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        y = G(*inputs)
        D(y, inputs[0]) if getattr(D, "cond_channels", 0) else D(y) if len(inputs) == 1 else D(y, inputs[1])
    for net in (G, D):  # after a forward too: nothing cached on the side
        assert _plain_tensors(net) == []
