"""The parts of the conditional families, each against its definition: conditional batch norm
(de Vries et al. 2017; BigGAN's and SA-GAN's G), SA-GAN's self-attention (Zhang et al. 2019,
eq. 1-3, with BigGAN's 2x2 max-pooled keys and values) and BigGAN's hierarchical latent
(Brock et al. 2019, sec. 3 / fig. 15: one chunk of z to the 4x4 linear, one per block appended
to the shared class embedding in that block's CBN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from growgan.networks import build_networks
from growgan.networks.conditional import ConditionalBatchNorm2d, SelfAttention
from growgan.networks.registry import example_spec


def test_gain_and_bias_follow_the_condition_vector():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, cond_dim=4).double().train()
    x = torch.randn(5, 3, 4, 4, dtype=torch.double) * 2 + 1
    y = torch.randn(5, 4, dtype=torch.double)
    # independent computation from the definition: biased batch variance, eps of BatchNorm2d
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    xhat = (x - mean) / torch.sqrt(var + cbn.bn.eps)
    wg, wb = cbn.gain.weight, cbn.bias.weight  # [3, 4]
    expect = xhat * (1 + y @ wg.t())[:, :, None, None] + (y @ wb.t())[:, :, None, None]
    assert torch.allclose(cbn(x, y), expect, atol=1e-10)
    # the same features with another sample's condition vector: only that sample changes
    y2 = y.clone()
    y2[2] = torch.randn(4, dtype=torch.double)
    diff = (cbn(x, y2) - cbn(x, y)).abs().amax(dim=(1, 2, 3))
    assert diff[2] > 1e-3 and torch.all(diff[[0, 1, 3, 4]] < 1e-12)


def test_without_a_condition_it_is_an_affine_batch_norm():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, cond_dim=0).train()
    ref = torch.nn.BatchNorm2d(3).train()
    ref.load_state_dict(cbn.bn.state_dict())
    x = torch.randn(4, 3, 5, 5)
    assert torch.allclose(cbn(x, None), ref(x)) and cbn.bn.affine


def test_self_attention_follows_the_paper_position_by_position():
    torch.manual_seed(0)
    att = SelfAttention(16).double()
    with torch.no_grad():
        att.gamma.fill_(0.7)
    x = torch.randn(2, 16, 4, 4, dtype=torch.double)
    out = att(x)
    f = att.theta(x)  # queries [N, 2, 4, 4]
    k = F.max_pool2d(att.phi(x), 2)  # keys [N, 2, 2, 2]
    v = F.max_pool2d(att.g(x), 2)  # values [N, 8, 2, 2]
    expect = torch.empty_like(x)
    for n in range(2):
        keys = [(i, j) for i in range(2) for j in range(2)]
        for y in range(4):
            for xx in range(4):
                s = torch.stack([f[n, :, y, xx] @ k[n, :, i, j] for i, j in keys])
                beta = torch.exp(s) / torch.exp(s).sum()  # softmax over the pooled positions
                o = sum(b * v[n, :, i, j] for b, (i, j) in zip(beta, keys))  # [8]
                expect[n, :, y, xx] = x[n, :, y, xx] + 0.7 * (att.o.weight[:, :, 0, 0] @ o)
    assert torch.allclose(out, expect, atol=1e-10)
    with torch.no_grad():
        att.gamma.zero_()  # the paper's initialisation: the block starts as the identity
    assert torch.equal(att(x), x)


def test_biggan_hierarchical_latent_sends_one_chunk_to_each_block():
    spec = example_spec("biggan")
    spec["G"]["c_dim"] = spec["D"]["c_dim"] = 3
    G, _ = build_networks(spec)
    n_blocks = len(G.blocks)
    assert G.hierarchical and G.z_chunk * (n_blocks + 1) == G.z_dim
    seen = {}
    G.fc.register_forward_pre_hook(lambda m, args: seen.__setitem__("fc", args[0]))
    for i, block in enumerate(G.blocks):
        block.register_forward_pre_hook(lambda m, args, i=i: seen.__setitem__(i, args[1]))
    z, c = torch.randn(2, G.z_dim), torch.tensor([2, 0])
    G(z, c)
    chunk = G.z_chunk
    assert torch.equal(seen["fc"], z[:, :chunk])
    y = G.shared(c)  # [N, shared_dim], one embedding shared by every block
    for i in range(n_blocks):
        assert torch.equal(seen[i], torch.cat([y, z[:, (i + 1) * chunk:(i + 2) * chunk]], dim=1))
