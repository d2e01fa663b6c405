"""Checkpoints are written (and named good) only when finite; generate/metrics refuse a
diverged generator; a checkpoint from a GPU run resumes on a CPU; --resume applies the
overrides that may change and refuses the others (issue #16, items 4, 5 and 8)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from engine_helpers import tiny_config

from growgan.cli import main
from growgan.training.checkpoint import latest_checkpoint, list_checkpoints


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def _train(tmp_path, archive, *sets, kimg="0.016", **cfg) -> list[str]:
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps(tiny_config(**cfg).to_dict()))
    argv = ["train", "--config", str(f), "--data", str(archive), "--kimg", kimg, "--out", str(tmp_path / "runs"), "--quiet"]
    for s in sets:
        argv += ["--set", s]
    return argv


@pytest.fixture(scope="module")
def run16(tiny_archive, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("r")
    assert main(_train(tmp, tiny_archive, checkpoint_kimg=0.016)) == 0
    (run,) = (tmp / "runs").iterdir()
    return run


def _copy(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(run, dst)
    return dst


def _all_finite(path: Path) -> bool:
    st = torch.load(path, weights_only=True)["state"]
    return all(torch.isfinite(t).all() for k in ("G", "D", "G_ema") for t in st[k].values() if t.is_floating_point())


# ---------------------------------------------------------------- item 4: finite checkpoints
@pytest.mark.parametrize("sets, what", [(("lr_G=1e30",), "G makes NaN/inf images"),
                                        (("lr_G=1e12", "lr_D=1e12"), "running_var")])
def test_a_diverged_state_is_never_written(tiny_archive, tmp_path, capsys, sets, what):
    err = _error(capsys, _train(tmp_path, tiny_archive, *sets, kimg="0.064", checkpoint_kimg=0.008))
    assert what in err and "not saved" in err and "last good checkpoint" not in err
    (run,) = (tmp_path / "runs").iterdir()
    assert list_checkpoints(run) == []


def test_divergence_after_resume_names_the_resumed_checkpoint_as_last_good(run16, tmp_path, capsys):
    run = _copy(run16, tmp_path)
    good = latest_checkpoint(run)[0]
    err = _error(capsys, ["train", "--resume", str(run), "--kimg", "0.064", "--quiet", "--set", "lr_G=1e30",
                          "--set", "checkpoint_kimg=0.008"])
    assert f"last good checkpoint: {good}" in err
    assert all(_all_finite(p) for p in list_checkpoints(run))


@pytest.mark.parametrize("damage", ["huge", "inf_running_var"])
def test_generate_and_metrics_refuse_a_non_finite_generator(run16, tiny_archive, tmp_path, capsys, damage):
    src = latest_checkpoint(run16)[0]
    ckpt = torch.load(src, weights_only=True)
    g = ckpt["state"]["G_ema"]
    if damage == "huge":  # finite weights whose activations overflow: NaN images (as after lr_G=1e30)
        for k, t in g.items():
            if t.is_floating_point() and k.endswith("weight"):
                t.fill_(1e38)
    else:
        k = next(k for k in g if k.endswith("running_var"))
        g[k][0] = float("inf")
    bad = tmp_path / "bad.pt"
    torch.save(ckpt, bad)
    err = _error(capsys, ["generate", str(bad), "--num", "4", "--out", str(tmp_path / "g.png")])
    assert "G_ema" in err and ("NaN/inf" in err) and not (tmp_path / "g.png").exists()
    err = _error(capsys, ["metrics", str(bad), "--data", str(tiny_archive), "--metrics", "ms-ssim", "--num", "8"])
    assert "NaN/inf" in err


# ---------------------------------------------------------------- item 8: overrides on resume
def test_resume_with_tiny_learning_rates_barely_moves_the_weights(run16, tmp_path):
    # An Adam step moves a parameter by at most ~lr * (1 - beta1) / sqrt(1 - beta2) (<= 16 lr here), so with
    # lr 1e-12 four steps move no weight by more than 1e-9; the old rate (2e-4) moves them by ~1e-4.
    run = _copy(run16, tmp_path)
    before = torch.load(latest_checkpoint(run)[0], weights_only=True)["state"]
    assert main(["train", "--resume", str(run), "--kimg", "0.032", "--quiet", "--set", "lr_G=1e-12",
                 "--set", "lr_D=1e-12", "--set", "batch_size=4"]) == 0
    after = latest_checkpoint(run)[1]["state"]
    assert after["images_seen"] == 32
    moved = max(float((t - after[part][k]).abs().max()) for part in ("G", "D") for k, t in before[part].items()
                if t.is_floating_point() and "running" not in k)
    assert moved < 1e-9, moved
    assert after["opt_G"]["param_groups"][0]["lr"] == 1e-12 and after["opt_D"]["param_groups"][0]["lr"] == 1e-12
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    assert rows[-1]["lr_G"] == 1e-12 and rows[-1]["batch"] == 4  # the batch_size override is used too
    assert "with lr_G 0.0002 -> 1e-12" in (run / "log.txt").read_text()


def test_resume_with_a_new_learning_rate_uses_it(run16, tmp_path):
    run = _copy(run16, tmp_path)
    assert main(["train", "--resume", str(run), "--kimg", "0.024", "--quiet", "--set", "lr_G=0.00123"]) == 0
    st = latest_checkpoint(run)[1]["state"]
    assert st["opt_G"]["param_groups"][0]["lr"] == 0.00123 and st["opt_D"]["param_groups"][0]["lr"] == 2e-4


@pytest.mark.parametrize("argv, key", [(["--set", "network.G.g_channels=8"], "network"), (["--set", "loss=wgan"], "loss"),
                                       (["--seed", "5"], "seed"), (["--set", 'growth={"kind": "progan"}'], "growth"),
                                       (["--name", "other"], "name")])
def test_resume_refuses_what_cannot_change(run16, tmp_path, capsys, argv, key):
    run = _copy(run16, tmp_path)
    n = len(list_checkpoints(run))
    err = _error(capsys, ["train", "--resume", str(run), "--kimg", "0.032", "--quiet", *argv])
    assert f"{key} cannot change on resume" in err and len(list_checkpoints(run)) == n


# ---------------------------------------------------------------- item 5: GPU checkpoint on a CPU
def _cuda_layout_copy(run16: Path, tmp_path: Path, name: str) -> Path:
    run = tmp_path / name
    shutil.copytree(run16, run)
    path = latest_checkpoint(run)[0]
    ckpt = torch.load(path, weights_only=True)
    cuda_state = torch.tensor(list((1234).to_bytes(8, "little")) + [0] * 8, dtype=torch.uint8)  # Philox seed, offset
    ckpt["extra"]["gen"] = [cuda_state.clone()]
    ckpt["extra"]["rng"][0]["cuda"] = [cuda_state.clone()]
    ckpt["config"]["device"] = "auto"
    torch.save(ckpt, path)
    return run


def test_a_checkpoint_with_cuda_rng_states_resumes_on_the_cpu_deterministically(run16, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    finals = []
    for name in ("a", "b"):
        run = _cuda_layout_copy(run16, tmp_path, name)
        assert main(["train", "--resume", str(run), "--kimg", "0.032", "--quiet"]) == 0
        assert "re-derived it from seed 0, rank 0 and images_seen 16" in (run / "log.txt").read_text()
        finals.append(latest_checkpoint(run)[1]["state"])
    assert finals[0]["images_seen"] == 32
    assert all(torch.equal(finals[0]["G"][k], finals[1]["G"][k]) for k in finals[0]["G"])


def test_cuda_on_a_torch_without_cuda_is_one_line(run16, tiny_archive, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    err = _error(capsys, _train(tmp_path, tiny_archive, "device=cuda"))
    assert "device=cuda" in err and not (tmp_path / "runs").exists()
    run = _copy(run16, tmp_path)
    assert "device=cuda" in _error(capsys, ["train", "--resume", str(run), "--quiet", "--set", "device=cuda"])
    assert "cuda" in _error(capsys, ["generate", str(run), "--device", "cuda", "--out", str(tmp_path / "g.png")])
    assert "cuda" in _error(capsys, ["metrics", str(run), "--data", str(tiny_archive), "--device", "cuda:0"])


def test_resume_or_generate_of_a_folder_of_runs_or_an_archive_names_what_it_is(run16, tiny_archive, tmp_path, capsys):
    """`--resume runs` (the parent) or an archive folder said 'no checkpoints in this run folder;
    train longer', which sends the user the wrong way; they name what the folder is instead."""
    parent = run16.parent
    for cmd in (["train", "--resume", str(parent), "--kimg", "1"], ["generate", str(parent), "--out", str(tmp_path / "g.png")]):
        err = _error(capsys, cmd)
        assert "a folder of runs" in err and str(run16) in err, err
    err = _error(capsys, ["train", "--resume", str(tiny_archive), "--kimg", "1"])
    assert "a dataset archive, not a run folder" in err, err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no checkpoints" in _error(capsys, ["train", "--resume", str(empty), "--kimg", "1"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # nothing written
