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


# --------------------------------------------------------------------------- G's label code (dcgan, resnet)
def _label_generators(spectral_norm: bool = False):
    from growgan.networks.dcgan import DCGANGenerator
    from growgan.networks.resnet import ResNetGenerator
    common = dict(z_dim=100, c_dim=10, img_channels=1, img_resolution=32, spectral_norm=spectral_norm)
    return [DCGANGenerator(**common, g_channels=8, fmap_max=32), ResNetGenerator(**common, channels=8, fmap_max=32)]


def test_label_code_has_a_one_hot_labels_norm_and_cannot_grow():
    """The learned code concatenated to z has L2 norm 1 for every class, as a one-hot label,
    against E||z||^2 = z_dim: also after its weights grow 100x (what training could do to a
    raw embedding), which leaves the code unchanged (only the direction is learned); the
    gradient of a normalised row is orthogonal to the row (d(w/|w|)/dw w = 0). As an
    embedding, BigGAN's orthogonal regularisation leaves it out."""
    from growgan.losses import orthogonal_regularization
    torch.manual_seed(0)
    c = torch.arange(10)
    for G in _label_generators():
        ortho = orthogonal_regularization(G)
        code = G.embed(c)  # [10, 100]
        assert torch.allclose(code.norm(dim=1), torch.ones(10), atol=1e-5)
        x = torch.cat([torch.zeros(10, 100), code], dim=1)  # the input G builds: [z, code]
        from growgan.networks.common import latent_input
        assert torch.allclose(latent_input(torch.zeros(10, 100), c, 100, 10, G.embed), x)
        with torch.no_grad():
            G.embed.weight.mul_(100.0)
        assert torch.allclose(G.embed(c), code, atol=1e-5)
        assert torch.equal(orthogonal_regularization(G), ortho)
        G.embed.weight.grad = None
        (G.embed(c) * torch.randn(10, 100)).sum().backward()
        g, w = G.embed.weight.grad, G.embed.weight.detach()
        assert g.abs().sum() > 0
        assert torch.allclose((g * w).sum(dim=1), torch.zeros(10), atol=1e-5)


def test_at_init_the_latent_outweighs_the_label():
    """Behaviour of the code's scale (1 against z's sqrt(z_dim) = 10): an untrained G's output
    varies several times more over 16 latents at one class than over the 10 classes at one
    latent. With a raw N(0, 1) embedding as wide as z (the old code) the two were equal."""
    torch.manual_seed(0)
    z = torch.randn(16, 100)
    for G in _label_generators():
        G.train()
        with torch.no_grad():
            G(torch.randn(64, 100), torch.arange(64) % 10)  # BN running stats of this G
            G.eval()
            within = G(z, torch.zeros(16, dtype=torch.long)).std(dim=0).mean()
            between = G(z[:1].expand(10, -1), torch.arange(10)).std(dim=0).mean()
        assert within > 3 * between, (type(G).__name__, float(within), float(between))


def test_checkpoints_of_the_raw_embedding_load_unchanged():
    """A G state saved before the normalised code (an nn.Embedding's `embed.weight`, no
    `embed.norm`) loads and feeds its raw rows, as it was trained to; with spectral norm on G
    too (the embedding's weight then saved as its parametrisation's original)."""
    torch.manual_seed(0)
    for G in _label_generators():
        old = {k: v for k, v in G.state_dict().items() if k != "embed.norm"}
        old["embed.weight"] = torch.randn(10, 100)
        G.load_state_dict(old)
        assert torch.equal(G.embed(torch.arange(10)), old["embed.weight"])
        assert "embed.norm" not in old  # the caller's dict is left as it was
    for G in _label_generators(spectral_norm=True):
        old = {k: v for k, v in G.state_dict().items() if k != "embed.norm"}
        G.load_state_dict(old)
        G.eval()  # spectral norm's power iteration then leaves its vectors alone
        with torch.no_grad():
            raw = G.embed.weight  # the spectrally normalised weight, as the old G used it
            assert torch.allclose(G.embed(torch.arange(10)), raw)
