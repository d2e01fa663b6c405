"""`growgan search` end to end on the real engine and SWD: a tiny search (8 -> 16 px) writes
search.jsonl, the tree, the best spec and a normal run folder that `growgan generate` and the
metrics read; --resume of a finished search retrains nothing; bad input is a one-line error."""

from __future__ import annotations

import json

import numpy as np
import pytest

from growgan.cli import main

SETS = ["tensorboard=false", "batch_size=16", "growth.fade_kimg=0.016", "growth.batch_sizes={}",
        "growth.search.settle_kimg=0.016", "growth.search.max_children=2", "growth.search.kernels=[1,3]",
        "growth.search.widths=[8]", "growth.search.root_widths=[8]", "growth.search.max_steps=1",
        "growth.search.target_resolution=16", "growth.search.final_kimg=0.128", "growth.search.eval_images=64"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from growgan.data.archive import write_archive

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:16, :16]
    imgs = []
    for _ in range(128):  # soft blobs: structure SWD can see
        cy, cx = rng.uniform(4, 12, 2)
        imgs.append(255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0))
    images = np.stack(imgs)[:, None].astype(np.uint8)
    return write_archive(tmp_path_factory.mktemp("data") / "blobs", images, None, {"source": "test blobs"})


def test_search_end_to_end_then_generate_metrics_and_resume(archive, tmp_path, capsys):
    args = ["search", "--preset", "dggan-mnist-32", "--data", str(archive), "--out", str(tmp_path), "--quiet"]
    for s in SETS:
        args += ["--set", s]
    assert main(args) == 0
    run_dir = next(tmp_path.glob("00000-*"))
    for name in ("search.jsonl", "tree.png", "tree.html", "best_spec.json", "final.json", "config.json"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "grids").glob("ema-*.png")) and list((run_dir / "checkpoints").glob("checkpoint-*.pt"))
    rows = [json.loads(line) for line in (run_dir / "search.jsonl").read_text().splitlines()]
    cands = [r for r in rows if r["type"] == "candidate"]
    assert all(np.isfinite(r["score"]) and r["score_std"] is not None and len(r["score_by_seed"]) == 2 for r in cands)
    assert all(r["flops"] > 0 and r["train_s"] > 0 and r["wall_s"] >= r["train_s"] for r in cands)
    final = json.loads((run_dir / "final.json").read_text())
    assert final["total_flops"] == final["search_flops"] + final["final_flops"] and final["final_flops"] > 0
    best = json.loads((run_dir / "best_spec.json").read_text())
    assert best["family"] == "dggan" and len(best["G"]["stages"]) == 2  # 8 -> 16

    # the final model is a normal run: generate and the metrics read it
    out_png = tmp_path / "grid.png"
    assert main(["generate", str(run_dir), "--out", str(out_png), "--num", "4"]) == 0 and out_png.stat().st_size > 0
    from growgan.training.checkpoint import load_generator

    assert load_generator(run_dir).img_resolution == (16, 16)
    assert main(["metrics", str(run_dir), "--data", str(archive), "--metrics", "swd", "--num", "64"]) == 0
    row = json.loads((run_dir / "metric-swd.jsonl").read_text().splitlines()[-1])
    assert "swd" in json.dumps(row)

    # resuming a finished search retrains no candidate and loses no row
    stamps = {p: p.stat().st_mtime_ns for p in run_dir.glob("candidates/*/result.json")}
    final = (run_dir / "final.json").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["search", "--resume", str(run_dir), "--quiet"]) == 0
    assert "nothing to do" in capsys.readouterr().out  # issue #18.7: a finished search says so
    assert (run_dir / "final.json").stat().st_mtime_ns == final
    assert {p: p.stat().st_mtime_ns for p in run_dir.glob("candidates/*/result.json")} == stamps
    assert (run_dir / "search.jsonl").read_text().splitlines()[: len(rows)] == [json.dumps(r, sort_keys=True) for r in rows]
    assert len((run_dir / "search.jsonl").read_text().splitlines()) == len(rows)


def test_search_user_errors_are_one_line(tmp_path, capsys):
    assert main(["search", "--preset", "dcgan-32", "--data", str(tmp_path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("growgan: error:") and len(err.strip().splitlines()) == 1
    assert main(["search", "--resume", str(tmp_path / "nope")]) == 2
    assert "search_config.json" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncated", "list", "bad-key"])
def test_damaged_search_config_is_one_line(archive, tmp_path, capsys, damage):
    from growgan.training.presets import get_preset

    text = json.dumps(get_preset("dggan-mnist-32").to_dict())
    folder = tmp_path / "s"
    folder.mkdir()
    bad = {"truncated": text[: len(text) // 2], "list": "[]", "bad-key": json.dumps({"no_such_key": 1})}[damage]
    (folder / "search_config.json").write_text(bad)
    (folder / "run.json").write_text(json.dumps({"data": str(archive)}))
    assert main(["search", "--resume", str(folder), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error: ") and "\n" not in err and "search_config.json" in err
    assert sorted(p.name for p in folder.iterdir()) == ["run.json", "search_config.json"]  # nothing created


def test_torchrun_two_processes_share_the_children(archive, tmp_path):
    """The real engine under torchrun (gloo, CPU): both ranks train children, rank 0 writes."""
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
           "-m", "growgan", "search", "--preset", "dggan-mnist-32", "--data", str(archive), "--out", str(tmp_path),
           "--quiet", "--set", "growth.search.p=1.0"]
    for s in SETS + ["growth.search.root_widths=[8,16]"]:  # two roots: one per rank at step 0
        cmd += ["--set", s]
    proc = subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = next(tmp_path.glob("00000-*"))
    rows = [json.loads(line) for line in (run_dir / "search.jsonl").read_text().splitlines()]
    assert {r["rank"] for r in rows if r["type"] == "candidate"} == {0, 1}
    assert (run_dir / "best_spec.json").is_file() and list((run_dir / "checkpoints").glob("*.pt"))


def _free_port() -> int:
    """A TCP port nothing listens on now (other test runs may share this machine)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_failed_write_before_the_search_starts_leaves_no_folder(archive, tmp_path, monkeypatch, capsys):
    """The search folder's config and run info were written outside the clean-up: a full disk
    there (or Ctrl-C) left a folder holding only the lock and part of the files."""
    from growgan.errors import GrowganError
    from growgan.utils import io

    real = io.atomic_write_json

    def write(path, obj, *a, **kw):
        if path.name == "run.json":
            raise GrowganError(f"{path}: no space left on device; free space")
        return real(path, obj, *a, **kw)

    monkeypatch.setattr(io, "atomic_write_json", write)
    args = ["search", "--preset", "dggan-mnist-32", "--data", str(archive), "--out", str(tmp_path / "s"), "--quiet"]
    for s in SETS:
        args += ["--set", s]
    assert main(args) == 2
    assert "run.json" in capsys.readouterr().err
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").iterdir())


def test_an_interrupted_search_says_how_to_continue_it(archive, tmp_path, monkeypatch, capsys):
    """Ctrl-C after a candidate finished keeps the folder; the console (also with --quiet) names
    the --resume command, not only 'interrupted'."""
    from growgan.growth import search as search_mod

    def run(self):  # one finished candidate, then Ctrl-C
        (self.run_dir / "cand").mkdir()
        (self.run_dir / "cand" / "result.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(search_mod.Search, "run", run)
    args = ["search", "--preset", "dggan-mnist-32", "--data", str(archive), "--out", str(tmp_path), "--quiet"]
    for s in SETS:
        args += ["--set", s]
    assert main(args) == 130
    run_dir = next(tmp_path.glob("00000-*"))
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"search folder {run_dir} kept; continue it with `growgan search --resume {run_dir}`",
                   "growgan: interrupted"]
