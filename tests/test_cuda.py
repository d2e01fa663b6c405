"""growgan on a CUDA GPU: every network family, one engine step of each CPU-sized preset (amp
off and bf16), StyleGAN2's float16 blocks with R1 and path length under a GradScaler, a CUDA
checkpoint loaded on a CPU, CUDA and CPU generation agreeing, `generate`/`metrics`/`search`
with a CUDA device, the CUDA RNG in exact resume, and the NCCL stop flag.

Skipped without a GPU. Each test takes seconds on one GPU; run them alone with
``pytest -q tests/test_cuda.py``. GROWGAN_TEST_DEVICE=cpu runs the same tests on the CPU
(the float16 ones skip), which checks the tests themselves on a machine without a GPU.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

DEVICE = torch.device(os.environ.get("GROWGAN_TEST_DEVICE", "cuda"))
ON_CUDA = DEVICE.type == "cuda"

pytestmark = pytest.mark.skipif(ON_CUDA and not torch.cuda.is_available(), reason="needs a CUDA GPU")
needs_cuda = pytest.mark.skipif(not ON_CUDA, reason="float16 runs on CUDA only")

sys.path.insert(0, str(Path(__file__).resolve().parent / "training"))  # engine_helpers, paired_helpers

# presets small enough for a CPU (the 32 px gray ones and the two translation presets)
LATENT_PRESETS = ["dcgan-32", "resnet-32", "sagan-mnist-32", "biggan-mnist-32", "cgan-mnist-32", "acgan-mnist-32",
                  "dggan-mnist-32", "progan-mnist-32", "stylegan2-mnist-32", "stylegan-mnist-32"]
IMAGE_PRESETS = ["pix2pix-edges2fashion", "cyclegan-mnist2fashion"]
BATCH = 8


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    from engine_helpers import make_archive
    from paired_helpers import make_paired_archive

    from growgan.data.paired import write_translation_archive

    root = tmp_path_factory.mktemp("cuda-data")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (16, 1, 32, 32), dtype=np.uint8)
    b = rng.integers(0, 256, (16, 1, 32, 32), dtype=np.uint8)
    return {"latent": make_archive(root / "blobs", n=32, channels=1, res=32, labels=True),
            "pix2pix-edges2fashion": make_paired_archive(root / "paired", n=16, res=(32, 32), channels_a=1, channels_b=3),
            "cyclegan-mnist2fashion": write_translation_archive(root / "unpaired", "unpaired", a, b, {"source": "noise"})}


def _preset(name: str, **changes):
    from growgan.training.presets import PRESETS

    cfg = PRESETS[name]()
    growth = dict(cfg.growth) if cfg.growth else None
    if growth and "batch_sizes" in growth:
        growth["batch_sizes"] = {}  # one batch size throughout
    base = dict(device=str(DEVICE), batch_size=BATCH, kimg=BATCH / 1000, log_kimg=BATCH / 1000,
                grid_kimg=BATCH / 1000, checkpoint_kimg=BATCH / 1000, grid_size=4, tensorboard=False, report=False,
                metrics=[], growth=growth)
    base.update(changes)
    return cfg.copy(**base)


class _NoTF32:
    """Full float32 convolutions and matmuls on the GPU (TF32 off) inside the block."""

    def __enter__(self):
        self.was = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc):
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = self.was


def _on_device(module: torch.nn.Module) -> bool:
    return all(t.device.type == DEVICE.type for t in list(module.parameters()) + list(module.buffers()))


def _finite(module: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in module.state_dict().values() if t.is_floating_point())


# ---------------------------------------------------------------------------- networks
def _families():
    from growgan.networks.registry import family_names

    return family_names()


@pytest.mark.parametrize("family", _families())
def test_every_family_forward_backward(family):
    from growgan.networks.registry import build_networks, example_spec, sample_inputs

    G, D = (net.to(DEVICE) for net in build_networks(example_spec(family)))
    inputs = [None if t is None else t.to(DEVICE) for t in sample_inputs(G, 4, torch.Generator().manual_seed(0))]
    y = G(*inputs)
    if getattr(G, "input_kind", "latent") == "image":
        logits = D(y, inputs[0]) if getattr(D, "cond_channels", 0) else D(y)
    else:
        logits = D(y, inputs[1])
    assert y.device.type == DEVICE.type and logits.device.type == DEVICE.type
    logits.float().square().mean().backward()
    grads = [p.grad for p in list(G.parameters()) + list(D.parameters()) if p.grad is not None]
    assert grads and all(g.device.type == DEVICE.type and bool(torch.isfinite(g).all()) for g in grads)


# ---------------------------------------------------------------------------- the engine, preset by preset
@pytest.mark.parametrize("amp", ["off", "bf16"])
@pytest.mark.parametrize("name", LATENT_PRESETS + IMAGE_PRESETS)
def test_one_step_per_preset_and_its_checkpoint_on_the_cpu(name, amp, data, tmp_path):
    from growgan.growth import build_trainer
    from growgan.training.checkpoint import load_checkpoint, load_generator, restore_state
    from growgan.training.config import TrainConfig

    archive = data.get(name, data["latent"])
    cfg = _preset(name, amp=amp)
    tr = build_trainer(cfg, archive, run_dir=tmp_path, verbose=False)
    assert tr.train_until(BATCH) == "done"  # one step, then grids and a checkpoint
    st = tr.state
    for net in (st.G, st.D, st.G_ema):
        assert _on_device(net) and _finite(net)
    assert st.step >= 1 and tr.last_checkpoint is not None
    assert list((tmp_path / "grids").glob("*.png"))

    # the checkpoint of a GPU run loads on a CPU-only machine
    ckpt = load_checkpoint(tr.last_checkpoint)
    cpu_state = restore_state(ckpt, TrainConfig.from_dict(ckpt["config"]), "cpu", tr.last_checkpoint)
    for net in (cpu_state.G, cpu_state.D, cpu_state.G_ema):
        assert all(t.device.type == "cpu" for t in list(net.parameters()) + list(net.buffers()))
    for opt in (cpu_state.opt_G, cpu_state.opt_D):
        for s in opt.state.values():
            assert all(v.device.type == "cpu" for v in s.values() if torch.is_tensor(v) and v.dim() > 0)
    if amp != "off":
        return
    # the same weights make the same images on the GPU and on the CPU (float32, TF32 off)
    with _NoTF32(), torch.no_grad():
        G_dev = load_generator(tr.last_checkpoint, device=DEVICE)
        G_cpu = load_generator(tr.last_checkpoint, device="cpu")
        inputs = _inputs(G_cpu)
        want = G_cpu(*inputs)
        got = G_dev(*[None if t is None else t.to(DEVICE) for t in inputs]).cpu()
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-4, rtol=1e-4), \
        float((got - want).abs().max())


def _inputs(G):
    from growgan.networks.registry import sample_inputs

    return sample_inputs(G, 4, torch.Generator().manual_seed(1))


# ---------------------------------------------------------------------------- StyleGAN2 in float16
def _sg2_config(**changes):
    from engine_helpers import tiny_config

    data_keys = {"img_channels": None, "img_resolution": None, "c_dim": None}
    net = {"family": "stylegan2",
           "G": {"z_dim": 8, "w_dim": 8, "mapping_layers": 2, "fmap_base": 64, "fmap_max": 16, "num_fp16_res": 2,
                 **data_keys},
           "D": {"z_dim": 8, "fmap_base": 64, "fmap_max": 16, "num_fp16_res": 2, **data_keys}}
    base = dict(network=net, device=str(DEVICE), r1_gamma=1.0, r1_interval=1, pl_weight=2.0, pl_interval=1,
                betas_G=(0.0, 0.99), betas_D=(0.0, 0.99), lr_G=2e-3, lr_D=2e-3)
    base.update(changes)
    return tiny_config(**base)


@needs_cuda
@pytest.mark.parametrize("amp", ["fp16", "off"])
def test_stylegan2_float16_blocks_with_r1_and_path_length(amp, data, monkeypatch):
    """num_fp16_res=2: the top two resolutions compute in float16 (outside autocast: amp=off,
    and inside R1's autocast-free double backward); amp=fp16 adds autocast and the GradScaler,
    through which R1 and path length take their double backward. Over a few steps the
    penalties are finite every step, and weights, pl_mean and the scaler stay finite."""
    import growgan.losses as losses
    from growgan.networks.stylegan2 import block_dtype
    from growgan.training.loop import Trainer

    assert block_dtype(True, DEVICE) == torch.float16  # the float16 path is the one being tested
    seen = {"r1": [], "pl": []}
    r1, pl = losses.r1_penalty, losses.path_length_penalty

    def spy_r1(*a, **k):
        out = r1(*a, **k)
        seen["r1"].append(float(out))
        return out

    def spy_pl(*a, **k):
        out = pl(*a, **k)
        seen["pl"].append(float(out[0]))
        return out

    monkeypatch.setattr(losses, "r1_penalty", spy_r1)
    monkeypatch.setattr(losses, "path_length_penalty", spy_pl)
    tr = Trainer(_sg2_config(amp=amp), data["latent"], verbose=False)
    assert (tr.state.scaler is not None) == (amp == "fp16")
    tr.train_until(4 * BATCH)
    assert len(seen["r1"]) >= 4 and len(seen["pl"]) >= 4, seen  # intervals 1: every step
    assert all(np.isfinite(v) for v in seen["r1"] + seen["pl"]), seen
    for net in (tr.state.G, tr.state.D, tr.state.G_ema):
        assert _finite(net)
    assert float(tr.state.pl_mean) > 0 and np.isfinite(float(tr.state.pl_mean))
    if tr.state.scaler is not None:
        assert 0 < tr.state.scaler.get_scale() < float("inf")
    with torch.no_grad():
        img = tr.state.G_ema(torch.randn(4, 8, device=DEVICE))
    assert img.dtype == torch.float32 and bool(torch.isfinite(img).all())


# ---------------------------------------------------------------------------- RNG
def test_exact_resume_carries_the_cuda_rng_streams(data, tmp_path):
    """The global CUDA RNG (StyleGAN2's noise and style-mixing latents) and the trainer's
    latent generator continue exactly after a resume: the RNG states after 3 + 3 resumed steps
    equal those after 6 steps (kernel nondeterminism cannot change RNG offsets). The FLOP cache
    is cleared as in a new process."""
    import growgan.training.flops as flops
    from growgan.training.checkpoint import load_checkpoint, restore_state
    from growgan.training.config import TrainConfig
    from growgan.training.loop import Trainer

    cfg = _sg2_config(amp="off")
    full = Trainer(cfg, data["latent"], verbose=False)
    full.train_until(6 * BATCH)
    first = Trainer(cfg, data["latent"], run_dir=tmp_path, verbose=False)
    first.train_until(3 * BATCH)
    path = first.last_checkpoint
    del first
    flops._CACHE.clear()
    ckpt = load_checkpoint(path)
    config = TrainConfig.from_dict(ckpt["config"])
    second = Trainer(config, data["latent"], state=restore_state(ckpt, config, DEVICE, path), run_dir=tmp_path,
                     resume=ckpt["extra"], verbose=False)
    second.train_until(6 * BATCH)
    assert torch.equal(full.gen.get_state(), second.gen.get_state())
    assert torch.equal(full._rng["torch"], second._rng["torch"])
    assert len(full._rng["cuda"]) == len(second._rng["cuda"])
    for a, b in zip(full._rng["cuda"], second._rng["cuda"]):
        assert torch.equal(a, b), "the CUDA RNG stream of the resumed run differs"


def test_building_counting_and_growing_leave_the_cuda_rng_alone(data):
    """Building a trainer, counting a step's FLOPs (a step on a copy: noise and style mixing
    draw from the device's RNG) and growing ProGAN leave the device's global RNG as it was
    (they used to reseed or advance CUDA's, which fork_rng(devices=[]) does not restore)."""
    from growgan.growth import build_trainer
    from growgan.training.flops import _CACHE, step_flops

    rng_state = torch.cuda.get_rng_state if ON_CUDA else torch.get_rng_state
    before = rng_state()
    tr = build_trainer(_preset("progan-mnist-32"), data["latent"], verbose=False)
    _CACHE.clear()
    step_flops(tr.state, tr.config, BATCH, tr.device)
    tr.state.images_seen = 10**6  # far into the schedule: apply builds the larger networks
    assert tr.growth.apply(tr.state)
    assert torch.equal(before, rng_state())
    sg2 = build_trainer(_sg2_config(amp="off"), data["latent"], verbose=False)
    _CACHE.clear()
    step_flops(sg2.state, sg2.config, BATCH, sg2.device)  # a step with noise and style mixing
    assert torch.equal(before, rng_state())


# ---------------------------------------------------------------------------- CLI with a CUDA device
def test_generate_and_metrics_cli_on_the_device(data, tmp_path):
    from PIL import Image

    from growgan.cli import main
    from growgan.growth import build_trainer

    tr = build_trainer(_preset("stylegan2-mnist-32", amp="off"), data["latent"], run_dir=tmp_path / "run", verbose=False)
    tr.train_until(BATCH)
    tr.log.close()
    run = tmp_path / "run"
    with _NoTF32():
        for dev in (str(DEVICE), "cpu"):
            assert main(["generate", str(run), "--out", str(tmp_path / f"{dev}.png"), "--num", "4", "--seed", "3",
                         "--trunc", "0.7", "--device", dev]) == 0
    a = np.asarray(Image.open(tmp_path / f"{DEVICE}.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "cpu.png"), dtype=np.int16)
    assert a.shape == b.shape and np.abs(a - b).max() <= 1  # uint8 rounding of equal floats
    import imageio.v3 as iio

    with _NoTF32():  # interpolate --device: the same W walk on the GPU as on the CPU
        for dev in (str(DEVICE), "cpu"):
            assert main(["interpolate", str(run), "--out", str(tmp_path / f"{dev}.gif"), "--frames", "3",
                         "--device", dev]) == 0
    a, b = (iio.imread(tmp_path / f"{dev}.gif", index=None).astype(np.int16) for dev in (str(DEVICE), "cpu"))
    assert a.shape == b.shape and a.shape[0] == 3 and np.abs(a - b).max() <= 1
    assert main(["metrics", str(run), "--data", str(data["latent"]), "--metrics", "swd,ms-ssim", "--num", "32",
                 "--device", str(DEVICE)]) == 0


def test_evaluate_generator_of_a_device_g_without_device(data):
    """A G on the GPU and no device=: images, features and SWD where G is (no mismatch)."""
    from growgan.metrics import evaluate_generator
    from growgan.networks.registry import build_networks, example_spec

    spec = example_spec("stylegan2")
    spec["G"].update(img_channels=1, img_resolution=[32, 32])
    spec["D"].update(img_channels=1, img_resolution=[32, 32])
    G, _ = build_networks(spec)
    G = G.to(DEVICE).eval()
    out = evaluate_generator(G, data["latent"], ["swd"], 32, seed=0)
    assert np.isfinite(out["swd"])


def test_dggan_search_on_the_device(tmp_path):
    """The search restores each child from its parent's checkpoint: on the training device."""
    from growgan.cli import main
    from growgan.data.archive import write_archive

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    imgs = [255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0) for cy, cx in rng.uniform(4, 12, (64, 2))]
    archive = write_archive(tmp_path / "blobs", np.stack(imgs)[:, None].astype(np.uint8), None, {"source": "blobs"})
    sets = ["tensorboard=false", "batch_size=16", "growth.fade_kimg=0.016", "growth.batch_sizes={}",
            "growth.search.settle_kimg=0.016", "growth.search.max_children=2", "growth.search.kernels=[1,3]",
            "growth.search.widths=[8]", "growth.search.root_widths=[8]", "growth.search.max_steps=1",
            "growth.search.target_resolution=16", "growth.search.final_kimg=0.064", "growth.search.eval_images=32",
            f"device={DEVICE}"]
    args = ["search", "--preset", "dggan-mnist-32", "--data", str(archive), "--out", str(tmp_path / "s"), "--quiet"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    final = json.loads(next((tmp_path / "s").glob("00000-*/final.json")).read_text())
    assert all(np.isfinite(v) for v in final["scores"].values())


# ---------------------------------------------------------------------------- torchrun's NCCL
def test_stop_flag_is_reduced_by_nccl(data, tmp_path):
    """The stop-signal flag all-reduced each step must be a CUDA tensor under NCCL (a one-process
    NCCL group stands in for torchrun's)."""
    import torch.distributed as dist

    from growgan.training.distributed import DistInfo
    from growgan.training.loop import Trainer

    if ON_CUDA and not dist.is_nccl_available():
        pytest.skip("this torch has no NCCL")
    tr = Trainer(_preset("dcgan-32", amp="off"), data["latent"], verbose=False)
    kw = {"backend": "nccl", "device_id": tr.device} if ON_CUDA else {"backend": "gloo"}
    try:
        dist.init_process_group(init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1, **kw)
    except Exception as exc:  # noqa: BLE001 - the machine's NCCL, not growgan
        pytest.skip(f"a one-process {kw['backend']} group cannot start here: {str(exc).splitlines()[0][:120]}")
    try:
        tr.dist = DistInfo(rank=0, world_size=2, local_rank=0)  # the multi-process code path
        tr._handle_signals = True
        assert tr._stop_requested() is False
    finally:
        dist.destroy_process_group()
