"""`growgan train` / `growgan generate` end to end on a tiny archive, and their one-line
errors (exit status 2) for bad checkpoints and config/archive mismatches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import tiny_config
from PIL import Image

from growgan.cli import main
from growgan.training.checkpoint import latest_checkpoint, list_checkpoints


@pytest.fixture(scope="module")
def trained_run(tiny_archive, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    cfg = tmp_path_factory.mktemp("cfg") / "tiny.json"
    cfg.write_text(json.dumps(tiny_config(tensorboard=True).to_dict()))
    rc = main(["train", "--config", str(cfg), "--data", str(tiny_archive), "--kimg", "0.064", "--out", str(out),
               "--quiet", "--set", "name=clitest"])
    assert rc == 0
    (run,) = out.iterdir()
    return run


def test_run_folder_contents(trained_run):
    assert trained_run.name == "00000-clitest"
    cfg = json.loads((trained_run / "config.json").read_text())
    assert cfg["network"]["G"]["img_channels"] == 1 and cfg["network"]["G"]["img_resolution"] == [32, 32]
    rows = [json.loads(x) for x in (trained_run / "stats.jsonl").read_text().splitlines()]
    assert [r["images_seen"] for r in rows] == [16, 32, 48, 64]  # log every 0.016 kimg
    assert all(np.isfinite(r["loss/D"]) and np.isfinite(r["loss/G"]) and r["img_per_s"] > 0 for r in rows)
    assert list((trained_run / "tb").glob("events.out.tfevents.*"))
    grids = sorted(p.name for p in (trained_run / "grids").iterdir())
    assert grids == ["ema-000000032.png", "ema-000000064.png", "raw-000000032.png", "raw-000000064.png"]
    assert [p.name for p in list_checkpoints(trained_run)] == ["checkpoint-000000032.pt", "checkpoint-000000064.pt"]
    assert "kimg" in (trained_run / "log.txt").read_text()


def test_generate_grid_and_folder(trained_run, tmp_path, capsys):
    assert main(["generate", str(trained_run), "--num", "9", "--seed", "3", "--out", str(tmp_path / "g.png")]) == 0
    grid = Image.open(tmp_path / "g.png")
    # 3x3 tiles of 32 px with 2 px padding, magnified 2x
    assert grid.size == ((3 * 34 + 2) * 2, (3 * 34 + 2) * 2)
    assert main(["generate", str(trained_run), "--num", "3", "--seed", "3", "--out", str(tmp_path / "d")]) == 0
    files = sorted((tmp_path / "d").iterdir())
    assert len(files) == 3 and Image.open(files[0]).size == (32, 32)
    # the first single image is the first grid tile (same seed, same generator: G_ema)
    tile = np.asarray(grid)[4:68:2, 4:68:2]
    assert np.array_equal(np.asarray(Image.open(files[0])), tile)
    assert main(["generate", str(trained_run), "--num", "1", "--seed", "3", "--raw", "--out", str(tmp_path / "r")]) == 0
    # G_ema by default, raw G with --raw: two different networks
    from growgan.training.checkpoint import load_generator

    z = torch.randn(2, 8)
    assert not torch.equal(load_generator(trained_run)(z), load_generator(trained_run, ema=False)(z))


def test_resume_extends_a_finished_run(trained_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    assert main(["train", "--resume", str(run), "--kimg", "0.08", "--quiet"]) == 0
    path, ckpt = latest_checkpoint(run)
    assert ckpt["state"]["images_seen"] == 80 and ckpt["config"]["kimg"] == 0.08


def test_the_thread_choice_is_logged(trained_run):
    """Issue #18.1: the run's log says how many intra-op threads it used and why."""
    import re

    log = (trained_run / "log.txt").read_text()
    m = re.search(r"threads: (\d+) \((.+)\)", log)
    assert m is not None and int(m.group(1)) >= 1 and m.group(2), log


def test_resume_with_nothing_to_do_says_so(trained_run, tmp_path, capsys):
    """Issue #18.7: resuming a run that already reached --kimg changes nothing and says so."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    before = {p.name: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--quiet"]) == 0  # the config's kimg, 0.064, is reached
    assert main(["train", "--resume", str(run), "--kimg", "0.05", "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all("nothing to do" in line and "0.064 kimg" in line and "larger --kimg" in line for line in out)
    assert {p.name: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before


def test_dry_run_prints_resolved_config(tiny_archive, capsys):
    assert main(["train", "--preset", "dcgan-32", "--data", str(tiny_archive), "--dry-run", "--seed", "7",
                 "--set", "lr_D=0.0001"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["seed"] == 7 and cfg["lr_D"] == 0.0001 and cfg["network"]["D"]["img_channels"] == 1


def test_arch_file_replaces_network_and_clears_growth(tmp_path, capsys):
    spec = tiny_config().network
    spec["G"]["img_channels"] = spec["D"]["img_channels"] = 1
    (tmp_path / "best_spec.json").write_text(json.dumps(spec))
    assert main(["train", "--preset", "dcgan-32", "--arch", str(tmp_path / "best_spec.json"), "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["network"]["G"]["g_channels"] == 4 and cfg["growth"] is None


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error: ") and "\n" not in err, err
    return err


def test_bad_checkpoints_are_one_line_errors(trained_run, tmp_path, capsys):
    good = latest_checkpoint(trained_run)[0]
    data = good.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all" * 10)
    torch.save({"some": torch.zeros(2)}, tmp_path / "foreign.pt")
    ckpt = torch.load(good, weights_only=True)
    ckpt["state"]["spec"]["G"]["g_channels"] = 8  # another architecture
    torch.save(ckpt, tmp_path / "otherarch.pt")
    for name in ("trunc.pt", "junk.pt", "foreign.pt", "otherarch.pt"):
        err = _error(capsys, ["generate", str(tmp_path / name), "--out", str(tmp_path / "x.png")])
        assert name in err
    assert "corrupt or truncated" in _error(capsys, ["generate", str(tmp_path / "trunc.pt"), "--out", str(tmp_path / "x.png")])
    assert "does not fit" in _error(capsys, ["generate", str(tmp_path / "otherarch.pt"), "--out", "x.png"])
    assert "not a growgan checkpoint" in _error(capsys, ["generate", str(tmp_path / "foreign.pt"), "--out", "x.png"])


def test_resume_skips_a_damaged_newest_checkpoint(trained_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    newest = list_checkpoints(run)[-1]
    newest.write_bytes(newest.read_bytes()[:1000])  # e.g. a disk that filled up
    path, ckpt = latest_checkpoint(run)
    assert path.name == "checkpoint-000000032.pt" and ckpt["state"]["images_seen"] == 32


def test_config_archive_mismatch_is_one_line_error(tiny_archive, tiny_archive_rgb, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps(tiny_config().to_dict()))
    err = _error(capsys, ["train", "--config", str(cfg), "--data", str(tiny_archive), "--out", str(tmp_path / "o"),
                          "--set", "network.G.img_channels=3", "--set", "network.D.img_channels=3"])
    assert "1 channels" in err and str(tiny_archive) in err
    err = _error(capsys, ["train", "--config", str(cfg), "--data", str(tiny_archive), "--out", str(tmp_path / "o"),
                          "--set", "network.G.c_dim=7", "--set", "network.D.c_dim=7"])
    assert "7 classes" in err
    _error(capsys, ["train", "--config", str(cfg), "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    _error(capsys, ["train", "--resume", str(tmp_path / "nope")])
    _error(capsys, ["train", "--preset", "no-such", "--data", str(tiny_archive)])


def test_resume_on_a_different_archive_is_refused(trained_run, tiny_archive_rgb, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    err = _error(capsys, ["train", "--resume", str(run), "--data", str(tiny_archive_rgb), "--kimg", "0.1", "--quiet"])
    assert "channels" in err


def test_generate_class_on_an_unconditional_generator_is_one_line(trained_run, tmp_path, capsys):
    err = _error(capsys, ["generate", str(trained_run), "--class", "1", "--out", str(tmp_path / "g.png")])
    assert "unconditional" in err and not (tmp_path / "g.png").exists()
