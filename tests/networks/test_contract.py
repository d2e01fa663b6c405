"""The network contract for the dcgan and resnet families: shapes, attributes, and
spec -> JSON -> build -> load_state_dict giving identical outputs (a checkpoint is a spec
plus state dicts, never code)."""

from __future__ import annotations

import io
import json

import pytest
import torch

from growgan.networks.registry import build_networks, network_spec


# tiny nets: one intra-op thread (fixture in tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def _spec(family: str, ch: int, res: int, c_dim: int = 0, sn_g: bool = False, sn_d: bool = False, **extra) -> dict:
    common = {"z_dim": 16, "c_dim": c_dim, "img_channels": ch, "img_resolution": [res, res], "fmap_max": 16}
    g = {**common, "spectral_norm": sn_g}
    d = {**common, "spectral_norm": sn_d}
    if family == "dcgan":
        g["g_channels"], d["d_channels"] = 4, 4
    else:
        g["channels"], d["channels"] = 8, 8
    g.update(extra.get("G", {}))
    d.update(extra.get("D", {}))
    return {"family": family, "G": g, "D": d}


CONFIGS = [
    ("dcgan", dict(ch=1, res=32)),
    ("dcgan", dict(ch=3, res=64)),
    ("dcgan", dict(ch=3, res=32, c_dim=10)),
    ("dcgan", dict(ch=1, res=32, c_dim=3, sn_g=True, sn_d=True, D={"batchnorm": False})),
    ("resnet", dict(ch=1, res=32)),
    ("resnet", dict(ch=3, res=64, G={"upsample": "bilinear"})),
    ("resnet", dict(ch=3, res=32, c_dim=10)),
    ("resnet", dict(ch=1, res=32, c_dim=3, sn_g=True, sn_d=True)),
]
IDS = [f"{f}-{c['ch']}ch-{c['res']}px" + ("-cond" if c.get("c_dim") else "") + ("-sn" if c.get("sn_d") else "")
       + ("-bilinear" if "G" in c else "") for f, c in CONFIGS]


def _inputs(spec: dict, n: int = 3):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n, spec["G"]["z_dim"], generator=g)
    c_dim = spec["G"]["c_dim"]
    c = torch.randint(0, c_dim, (n,), generator=g) if c_dim else None
    res = spec["G"]["img_resolution"]
    x = torch.rand(n, spec["G"]["img_channels"], *res, generator=g) * 2 - 1
    return z, c, x


@pytest.mark.parametrize("family,cfg", CONFIGS, ids=IDS)
def test_shapes_and_attributes(family, cfg):
    spec = _spec(family, **cfg)
    G, D = build_networks(spec)
    z, c, x = _inputs(spec)
    img = G(z, c)
    assert img.shape == (3, cfg["ch"], cfg["res"], cfg["res"]) and img.dtype == torch.float32
    assert img.min() >= -1 and img.max() <= 1
    logits = D(img, c)
    assert logits.shape == (3,)
    for net in (G, D):
        assert net.z_dim == 16 and net.c_dim == cfg.get("c_dim", 0) and net.img_channels == cfg["ch"]
        assert net.img_resolution == (cfg["res"], cfg["res"]) and isinstance(net.img_resolution, tuple)
        assert net.family == family
    # gradients reach every parameter of both nets through G -> D
    D(G(z, c), c).sum().backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("family,cfg", CONFIGS, ids=IDS)
def test_spec_json_build_load_round_trip(family, cfg):
    spec = _spec(family, **cfg)
    G, D = build_networks(spec)
    z, c, x = _inputs(spec)
    for _ in range(2):  # a couple of training-mode passes move BN statistics and SN vectors
        D(G(z, c), c)
        D(x, c)
    G.eval(), D.eval()
    saved_spec = json.loads(json.dumps(network_spec(G, D)))  # JSON-able, and the same after JSON
    assert saved_spec == network_spec(G, D) and saved_spec["family"] == family
    assert all(saved_spec["G"][k] == v for k, v in spec["G"].items())  # recorded as given
    assert all(saved_spec["D"][k] == v for k, v in spec["D"].items())
    buf = io.BytesIO()
    torch.save({"G": G.state_dict(), "D": D.state_dict()}, buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    G2, D2 = build_networks(saved_spec)
    G2.load_state_dict(sd["G"])  # strict: the same parameter and buffer names
    D2.load_state_dict(sd["D"])
    G2.eval(), D2.eval()
    with torch.no_grad():
        assert torch.equal(G(z, c), G2(z, c))
        assert torch.equal(D(x, c), D2(x, c))
    # and a fresh net (different init) really differs, so the check above means something
    torch.manual_seed(123)
    G3, _ = build_networks(saved_spec)
    assert not torch.equal(G(z, c), G3.eval()(z, c))


@pytest.mark.parametrize("family,cfg", [CONFIGS[2], CONFIGS[3], CONFIGS[6], CONFIGS[7]], ids=[IDS[2], IDS[3], IDS[6], IDS[7]])
def test_penalties_double_backward_through_the_family(family, cfg):
    """WGAN-GP and R1 need a double backward through D (in-place activations included)."""
    from growgan.losses import gradient_penalty, r1_penalty

    spec = _spec(family, **cfg)
    G, D = build_networks(spec)
    z, c, x = _inputs(spec, n=4)
    pen = gradient_penalty(D, x, G(z, c), c) + r1_penalty(D, x, c)
    assert torch.isfinite(pen) and pen > 0
    pen.backward()
    grads = [p.grad for n, p in D.named_parameters() if "bias" not in n and "bn" not in n]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


@pytest.mark.parametrize("family,cfg", [CONFIGS[2], CONFIGS[6]], ids=[IDS[2], IDS[6]])
def test_channels_last_and_bf16_autocast(family, cfg):
    spec = _spec(family, **cfg)
    G, D = build_networks(spec)
    G.eval(), D.eval()
    z, c, x = _inputs(spec)
    with torch.no_grad():
        ref_g, ref_d = G(z, c), D(x, c)
        G2, D2 = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
        assert torch.allclose(G2(z, c), ref_g, atol=1e-5)
        assert torch.allclose(D2(x.contiguous(memory_format=torch.channels_last), c), ref_d, atol=1e-5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            img, logits = G(z, c), D(x, c)
    assert img.shape == ref_g.shape and logits.shape == (3,)
    assert (img.float() - ref_g).abs().max() < 0.1 and torch.isfinite(logits).all()


# --------------------------------------------------------------------------- every registered family
from growgan.networks.registry import example_spec, family_names, is_growable  # noqa: E402


@pytest.mark.parametrize("family", family_names())
def test_every_registered_family_honours_the_contract(family):
    """Runs over family_names(), so a new family cannot skip it: it must register an example
    spec, build from JSON, map z -> images and images -> [N] logits, carry the contract
    attributes, and rebuild from its recorded spec + state dict with identical outputs."""
    spec = json.loads(json.dumps(example_spec(family)))
    torch.manual_seed(0)
    G, D = build_networks(spec)
    if G.input_kind == "image":
        return _image_family_contract(family, spec, G, D)
    assert G.input_kind == "latent"
    G.eval(), D.eval()
    n = 4
    z = torch.randn(n, G.z_dim)
    with torch.no_grad():
        img = G(z)
        h, w = G.img_resolution
        assert img.shape == (n, G.img_channels, h, w) and torch.isfinite(img).all()
        assert D(img).reshape(n).shape == (n,)
    for net in (G, D):
        assert isinstance(net.img_resolution, tuple) and net.c_dim == 0 and net.family == family
    saved = json.loads(json.dumps(network_spec(G, D)))
    G2, D2 = build_networks(saved)
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    G2.eval(), D2.eval()
    with torch.no_grad():
        assert torch.equal(G2(z), img) and torch.equal(D2(img), D(img))
    if is_growable(family):  # alpha: a plain attribute, 1.0 by default, not in the state dict
        assert G.alpha == D.alpha == 1.0 and not any("alpha" in k for k in G.state_dict())
        G.alpha = 0.0
        with torch.no_grad():
            assert torch.isfinite(G(z)).all() and not torch.equal(G(z), img)  # the example spec fades


def _image_family_contract(family, spec, G, D):
    """The image-to-image form: G(x) keeps the size and maps in_channels -> img_channels in
    [-1, 1]; D(y, cond) gives [N, 1, h, w] patch logits; gradients reach every parameter;
    spec JSON round trip with identical outputs (eval mode: dropout off)."""
    n, (h, w) = 3, G.img_resolution
    x = torch.rand(n, G.in_channels, h, w) * 2 - 1
    y = G(x)
    assert y.shape == (n, G.img_channels, h, w) and torch.isfinite(y).all() and y.abs().max() <= 1
    cond = x if D.cond_channels else None
    logits = D(y, cond)
    assert logits.ndim == 4 and logits.shape[:2] == (n, 1)
    loss = logits.mean()
    if hasattr(G, "b_to_a"):  # two-way families (cyclegan): the way back B -> A, judged in domain A
        back = G.b_to_a(y)
        assert back.shape == x.shape and back.abs().max() <= 1
        back_logits = D.judge_a(back)
        assert back_logits.ndim == 4 and back_logits.shape[:2] == (n, 1)
        loss = loss + back_logits.mean()
    loss.backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    for net in (G, D):
        assert isinstance(net.img_resolution, tuple) and net.z_dim == 0 and net.c_dim == 0 and net.family == family
    G.eval(), D.eval()
    saved = json.loads(json.dumps(network_spec(G, D)))
    G2, D2 = build_networks(saved)
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    G2.eval(), D2.eval()
    with torch.no_grad():
        assert torch.equal(G2(x), G(x)) and torch.equal(D2(y, cond), D(y, cond))
        torch.manual_seed(123)
        G3, _ = build_networks(saved)
        assert not torch.equal(G3.eval()(x), G(x))


def test_old_spec_key_names_still_build():
    spec = example_spec("dcgan")
    spec["G"]["channel_max"] = spec["G"].pop("fmap_max")
    G, _ = build_networks(spec)
    assert G.spec()["fmap_max"] == 16 and "channel_max" not in G.spec()


def _conditional_example(family: str, c_dim: int = 3) -> dict | None:
    """The family's example spec with c_dim set, or None for families without conditioning."""
    spec = example_spec(family)
    spec["G"]["c_dim"] = spec["D"]["c_dim"] = c_dim
    try:
        build_networks(spec)
    except Exception as exc:  # noqa: BLE001 - progan/dggan refuse c_dim > 0 with a GrowganError
        from growgan.errors import GrowganError
        assert isinstance(exc, GrowganError), exc
        return None
    return spec


CONDITIONAL_FAMILIES = ["dcgan", "resnet", "sagan", "biggan"]


@pytest.mark.parametrize("family", family_names())
def test_every_conditional_family_honours_the_contract_with_c_dim(family):
    """With c_dim > 0: shapes, labels required, JSON spec round trip with identical outputs,
    and gradients reaching every parameter. Families listed in CONDITIONAL_FAMILIES must build."""
    spec = _conditional_example(family)
    if spec is None:
        assert family not in CONDITIONAL_FAMILIES
        pytest.skip(f"{family} has no conditional variant")
    torch.manual_seed(0)
    G, D = build_networks(json.loads(json.dumps(spec)))
    z, c = torch.randn(4, G.z_dim), torch.tensor([0, 1, 2, 0])
    img = G(z, c)
    assert img.shape == (4, G.img_channels, *G.img_resolution) and G.c_dim == D.c_dim == 3
    D(img, c).sum().backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    with pytest.raises(ValueError, match="conditional"):
        G(z)
    G.eval(), D.eval()
    G2, D2 = build_networks(json.loads(json.dumps(network_spec(G, D))))
    G2.load_state_dict(G.state_dict()), D2.load_state_dict(D.state_dict())
    G2.eval(), D2.eval()
    with torch.no_grad():
        assert torch.equal(G2(z, c), G(z, c)) and torch.equal(D2(img, c), D(img, c))


COND_OPTIONS = [(f, opt) for f in CONDITIONAL_FAMILIES for opt in ("projection", "concat", "acgan")]


@pytest.mark.parametrize("family,conditioning", COND_OPTIONS, ids=[f"{f}-{o}" for f, o in COND_OPTIONS])
def test_every_conditional_family_takes_every_d_conditioning(family, conditioning):
    """Projection, cGAN label planes and the AC-GAN head are options of every conditional D:
    shapes, JSON round trip, label effect (projection/concat) or class logits (acgan)."""
    spec = _conditional_example(family)
    spec["D"]["conditioning"] = conditioning
    if family in ("dcgan", "resnet"):
        spec["G"]["label_input"] = "onehot" if conditioning == "concat" else "embed"
    torch.manual_seed(0)
    G, D = build_networks(json.loads(json.dumps(spec)))
    z, c = torch.randn(4, G.z_dim), torch.tensor([0, 1, 2, 0])
    x = torch.rand(1, G.img_channels, *G.img_resolution).repeat(4, 1, 1, 1) * 2 - 1  # one image, 4 labels
    logits = D(x, c).detach()
    assert logits.shape == (4,)
    if conditioning == "acgan":
        assert D.class_logits.shape == (4, 3)
        assert torch.allclose(logits, logits[0].expand(4))  # AC-GAN's D does not see the label
        assert torch.allclose(D(x).detach(), logits)
    else:
        assert abs(float(logits[0] - logits[1])) > 1e-6 and torch.isclose(logits[0], logits[3])
        with pytest.raises(ValueError, match="conditional"):
            D(x)
    D(G(z, c), c).sum().backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        assert p.grad is not None, name
    G.eval(), D.eval()
    G2, D2 = build_networks(json.loads(json.dumps(network_spec(G, D))))
    G2.load_state_dict(G.state_dict()), D2.load_state_dict(D.state_dict())
    G2.eval(), D2.eval()
    with torch.no_grad():
        assert torch.equal(G2(z, c), G(z, c)) and torch.equal(D2(x, c), D(x, c))


@pytest.mark.parametrize("family", CONDITIONAL_FAMILIES)
def test_changing_only_the_label_changes_the_output(family):
    spec = _conditional_example(family)
    torch.manual_seed(0)
    G, D = build_networks(spec)
    G.eval(), D.eval()
    z = torch.randn(1, G.z_dim).repeat(3, 1)  # the same z three times
    c = torch.tensor([0, 1, 2])
    with torch.no_grad():
        img, logits = G(z, c), D(torch.rand(1, G.img_channels, *G.img_resolution).repeat(3, 1, 1, 1), c)
        assert torch.equal(G(z, c), img)  # deterministic, so differences come from the label alone
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert (img[a] - img[b]).abs().max() > 1e-4
        assert abs(float(logits[a] - logits[b])) > 1e-6


@pytest.mark.parametrize("c_dim", [0, 3])
def test_biggan_deep_builds_round_trips_and_listens_to_the_label(c_dim):
    spec = example_spec("biggan")
    for part in ("G", "D"):
        spec[part].update(deep=True, c_dim=c_dim, channels=8, fmap_max=16)
    torch.manual_seed(0)
    G, D = build_networks(json.loads(json.dumps(spec)))
    assert sum(type(b).__name__ == "DeepGBlock" for b in G.blocks) == 2 * 3  # two per doubling, 4 -> 32 px
    z = torch.randn(1, G.z_dim).repeat(3, 1)
    c = torch.tensor([0, 1, 2]) if c_dim else None
    img = G(z, c)
    assert img.shape == (3, 3, 32, 32)
    D(img, c).sum().backward()
    for name, p in list(G.named_parameters()) + list(D.named_parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    G.eval(), D.eval()
    G2, D2 = build_networks(json.loads(json.dumps(network_spec(G, D))))
    G2.load_state_dict(G.state_dict()), D2.load_state_dict(D.state_dict())
    G2.eval(), D2.eval()
    with torch.no_grad():
        out = G(z, c)
        assert torch.equal(G2(z, c), out) and torch.equal(D2(out, c), D(out, c))
        if c_dim:
            assert (out[0] - out[1]).abs().max() > 1e-4 and (out[1] - out[2]).abs().max() > 1e-4
