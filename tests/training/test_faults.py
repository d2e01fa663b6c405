"""Faults of training runs (docs/faults.md lists every kind and its test): a full disk,
two writers of one run folder, damaged checkpoints and run files, unusable devices and
output paths. Each is one line on stderr and exit status 2, and loses nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from engine_helpers import tiny_config
from fault_helpers import fill_disk

from growgan.cli import main
from growgan.errors import GrowganError
from growgan.training.checkpoint import (
    is_loadable,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
)
from growgan.training.rundir import HOLDER_NAME, RunLock

GROWGAN = [sys.executable, "-m", "growgan"]
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def cfg_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "tiny.json"
    path.write_text(json.dumps(tiny_config(tensorboard=True, keep_checkpoints=5).to_dict()))
    return path


@pytest.fixture(scope="module")
def run32(tiny_archive, cfg_file, tmp_path_factory) -> Path:
    """A finished run with checkpoints at 32 and 64 images."""
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--config", str(cfg_file), "--data", str(tiny_archive), "--kimg", "0.064",
                 "--out", str(out), "--quiet"]) == 0
    (run,) = out.iterdir()
    return run


def _one_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error: ") and "\n" not in err, err
    return err


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp-" in p.name or p.name.endswith(".tmp")]


# ---------------------------------------------------------------------------- full disk
@pytest.mark.parametrize("victim", ["checkpoint-000000096.pt", "stats.jsonl", "ema-000000096.png", "events.out.tfevents",
                                    "log.txt"])
def test_full_disk_during_resume_is_one_line_and_keeps_the_last_checkpoint(run32, tmp_path, monkeypatch, capsys, victim):
    run = tmp_path / "run"
    shutil.copytree(run32, run)
    before = {p.name: p.read_bytes() for p in list_checkpoints(run)}
    fill_disk(monkeypatch, match=lambda path: victim in path)
    assert main(["train", "--resume", str(run), "--kimg", "0.128", "--quiet"]) == 2
    monkeypatch.undo()
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error: ") and "\n" not in err, err  # also no thread traceback
    assert "No space left on device" in err and "--resume" in err
    assert not _temporaries(run)
    for name, data in before.items():  # the checkpoints that were there are untouched
        assert (run / "checkpoints" / name).read_bytes() == data
    path, ckpt = latest_checkpoint(run)
    assert ckpt["state"]["images_seen"] >= 64
    # disk freed: the run continues from its last checkpoint
    assert main(["train", "--resume", str(run), "--kimg", "0.128", "--quiet"]) == 0
    assert latest_checkpoint(run)[1]["state"]["images_seen"] == 128


def test_full_disk_in_a_new_run_is_one_line(tiny_archive, cfg_file, tmp_path, monkeypatch, capsys):
    fill_disk(monkeypatch, match=lambda path: "checkpoint-000000032" in path)
    err = _one_line(capsys, ["train", "--config", str(cfg_file), "--data", str(tiny_archive), "--kimg", "0.064",
                             "--out", str(tmp_path), "--quiet"])
    monkeypatch.undo()
    assert "No space left on device" in err and "checkpoint-000000032.pt" in err
    assert not _temporaries(tmp_path)


# ---------------------------------------------------------------------------- pruning
def test_pruning_counts_only_checkpoints_that_load(run32, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run32, run)
    ck = run / "checkpoints"
    c32, c64 = ck / "checkpoint-000000032.pt", ck / "checkpoint-000000064.pt"
    damaged = ck / "checkpoint-000000096.pt"
    damaged.write_bytes(c64.read_bytes()[:1000])  # newest by name, but cut short
    assert is_loadable(c64) and not is_loadable(damaged)
    removed = prune_checkpoints(run, keep=1)
    assert removed == [c32]  # the good 64 stays: the damaged 96 does not count
    assert c64.exists() and damaged.exists() and load_checkpoint(c64)


def test_training_never_prunes_the_checkpoint_it_just_wrote(run32, tmp_path):
    # a damaged file named beyond the run's end sorted as the newest: keep_checkpoints=1 used
    # to delete the checkpoint just written and keep the damaged one
    run = tmp_path / "run"
    shutil.copytree(run32, run)
    (run / "checkpoints" / "checkpoint-000999999.pt").write_bytes(b"junk")
    assert main(["train", "--resume", str(run), "--kimg", "0.096", "--quiet", "--set", "keep_checkpoints=1"]) == 0
    names = [p.name for p in list_checkpoints(run)]
    assert "checkpoint-000000096.pt" in names and "checkpoint-000000064.pt" not in names
    assert load_checkpoint(run / "checkpoints" / "checkpoint-000000096.pt")["state"]["images_seen"] == 96


# ---------------------------------------------------------------------------- locking
def _wait_for(pred, timeout=120.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def test_two_resumes_of_one_run_the_second_gets_one_line_naming_the_first(run32, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run32, run)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": SRC}
    first = subprocess.Popen(GROWGAN + ["train", "--resume", str(run), "--kimg", "1000", "--quiet"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: (run / HOLDER_NAME).is_file(), proc=first), first.stderr.read() if first.poll() else ""
        rows_before = (run / "stats.jsonl").read_text()
        second = subprocess.run(GROWGAN + ["train", "--resume", str(run), "--kimg", "0.2", "--quiet"], env=env,
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2
        err = second.stderr.strip()
        assert "\n" not in err and f"in use by process {first.pid} " in err and str(run) in err
        # the second wrote nothing: the first's rows only grow (no truncation, no duplicates)
        assert (run / "stats.jsonl").read_text().startswith(rows_before)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    # kill -9 releases the lock with the process: the folder is usable at once
    with RunLock(run):
        pass


def test_a_search_folder_is_locked_too(tiny_archive, tmp_path, capsys):
    from growgan.training.presets import get_preset

    folder = tmp_path / "search"
    folder.mkdir()
    (folder / "search_config.json").write_text(json.dumps(get_preset("dggan-mnist-32").to_dict()))
    (folder / "run.json").write_text(json.dumps({"data": str(tiny_archive)}))
    holder = subprocess.Popen([sys.executable, "-c", f"import sys, time; sys.path.insert(0, {SRC!r}); "
                               "from growgan.training.rundir import RunLock; "
                               f"l = RunLock({str(folder)!r}, 'growgan search').acquire(); print('ok', flush=True); "
                               "time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        err = _one_line(capsys, ["search", "--resume", str(folder), "--quiet"])
        assert f"in use by process {holder.pid} (growgan search" in err
        assert not (folder / "candidates").exists()
    finally:
        holder.kill()
        holder.wait()


def test_lock_is_exclusive_within_a_process_too(tmp_path):
    with RunLock(tmp_path, "first"):
        assert json.loads((tmp_path / HOLDER_NAME).read_text())["pid"] == os.getpid()
        with pytest.raises(GrowganError, match=f"in use by process {os.getpid()} \\(first"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / HOLDER_NAME).exists()
    RunLock(tmp_path).acquire().release()


# ---------------------------------------------------------------------------- one line, nothing created
def test_device_cuda_without_cuda_is_one_line_before_anything(tiny_archive, cfg_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a CPU-only torch
    out = tmp_path / "runs"
    for dev in ("cuda", "cuda:1"):
        err = _one_line(capsys, ["train", "--config", str(cfg_file), "--data", str(tiny_archive), "--out", str(out),
                                 "--set", f"device={dev}", "--quiet"])
        assert f"device={dev}" in err and "device=cpu" in err
    err = _one_line(capsys, ["train", "--config", str(cfg_file), "--data", str(tiny_archive), "--out", str(out),
                             "--set", "device=gpu0", "--quiet"])
    assert "device" in err and "gpu0" in err
    assert not out.exists()


def test_resume_and_generate_check_the_device(run32, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    run = tmp_path / "run"
    shutil.copytree(run32, run)
    before = sorted(p.name for p in run.rglob("*"))
    assert "device=cuda" in _one_line(capsys, ["train", "--resume", str(run), "--set", "device=cuda", "--quiet"])
    assert sorted(p.name for p in run.rglob("*")) == before
    assert "--device=cuda" in _one_line(capsys, ["generate", str(run), "--device", "cuda", "--out", str(tmp_path / "g.png")])
    assert not (tmp_path / "g.png").exists()


# every command that runs a network on a chosen device: growgan.utils.device.add_device_argument
DEVICE_COMMANDS = {"generate": ["generate"], "translate": ["translate"], "interpolate": ["interpolate"],
                   "metrics": ["metrics"], "metrics train-classifier": ["metrics-train-classifier"]}


def _subparsers() -> dict:
    import argparse

    from growgan.cli import build_parser

    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_command_that_runs_a_network_has_the_same_device_option():
    # interpolate had none (always the CPU); metrics' said "default: cpu" but held None,
    # generate's and translate's had no help
    from growgan.utils.device import DEVICE_HELP

    parsers = _subparsers()
    for name, (key,) in DEVICE_COMMANDS.items():
        (opt,) = [a for a in parsers[key]._actions if "--device" in a.option_strings]
        assert (opt.default, opt.help) == ("cpu", DEVICE_HELP), name
    # the others: train and search take the config key `device` (--set device=cuda); export
    # writes a device-free file (made on the CPU); report's candidate previews are CPU pictures
    without = {k for k, p in parsers.items() if not any("--device" in a.option_strings for a in p._actions)}
    assert without == {"dataset", "train", "search", "export", "report", "presets"}


def test_device_cuda_without_cuda_is_the_same_one_line_in_every_command(run32, tiny_archive, tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a CPU-only torch
    out = tmp_path / "out"
    argvs = {"generate": ["generate", str(run32), "--out", str(out / "g.png")],
             "translate": ["translate", str(run32), "--input", str(tiny_archive), "--out", str(out / "t")],
             "interpolate": ["interpolate", str(run32), "--out", str(out / "w.gif")],
             "metrics": ["metrics", str(run32), "--data", str(tiny_archive), "--num", "8"],
             "metrics train-classifier": ["metrics", "train-classifier", "--data", str(tiny_archive),
                                          "--out", str(out / "clf.pt")]}
    assert set(argvs) == set(DEVICE_COMMANDS)
    before = sorted(p.name for p in run32.iterdir())
    for name, argv in argvs.items():
        err = _one_line(capsys, [*argv, "--device", "cuda"])
        assert err.startswith("growgan: error: --device=cuda: ") and "use --device=cpu" in err, (name, err)
        assert err == _one_line(capsys, [*argvs["generate"], "--device", "cuda"]), name  # word for word
        assert not out.exists(), name
    assert sorted(p.name for p in run32.iterdir()) == before  # metrics appended no metric file


@pytest.mark.parametrize("damage", ["truncated", "not-object", "data-number", "missing"])
def test_damaged_run_json_is_one_line(run32, tmp_path, capsys, damage, tiny_archive):
    run = tmp_path / "run"
    shutil.copytree(run32, run)
    text = (run / "run.json").read_text()
    if damage == "truncated":
        (run / "run.json").write_text(text[: len(text) // 2])
    elif damage == "not-object":
        (run / "run.json").write_text("[1, 2]")
    elif damage == "data-number":
        (run / "run.json").write_text(json.dumps({"data": 5}))
    else:
        (run / "run.json").unlink()
    stats = (run / "stats.jsonl").read_text()
    err = _one_line(capsys, ["train", "--resume", str(run), "--kimg", "0.096", "--quiet"])
    assert "run.json" in err and "--data" in err
    assert (run / "stats.jsonl").read_text() == stats and not (run / HOLDER_NAME).exists()
    # the fix the message names works
    assert main(["train", "--resume", str(run), "--kimg", "0.096", "--quiet", "--data", str(tiny_archive)]) == 0


@pytest.mark.parametrize("edit", ["channels", "drop-key", "shape", "spec-type"])
def test_checkpoint_whose_spec_does_not_match_its_tensors_is_one_line(run32, tmp_path, capsys, edit):
    src = latest_checkpoint(run32)[0]
    ckpt = torch.load(src, weights_only=True)
    spec = ckpt["state"]["spec"]
    if edit == "channels":
        spec["G"]["g_channels"] = 8
    elif edit == "drop-key":
        del spec["G"]["z_dim"]
    elif edit == "shape":
        key = next(iter(ckpt["state"]["G_ema"]))
        ckpt["state"]["G_ema"][key] = torch.zeros(3, 3, 3)
        ckpt["state"]["G"][key] = torch.zeros(3, 3, 3)
    else:
        ckpt["state"]["spec"] = "dcgan"
    run = tmp_path / "run"
    shutil.copytree(run32, run)
    for p in list_checkpoints(run):
        torch.save(ckpt, p)
    stats = (run / "stats.jsonl").read_text()
    assert "checkpoint" in _one_line(capsys, ["generate", str(run), "--out", str(tmp_path / "g.png")])
    assert "checkpoint" in _one_line(capsys, ["train", "--resume", str(run), "--kimg", "0.096", "--quiet"])
    assert (run / "stats.jsonl").read_text() == stats


def test_out_that_is_a_file_or_a_folder(tiny_archive, cfg_file, run32, tmp_path, capsys):
    blocker = tmp_path / "runs-file"
    blocker.write_text("user's file")
    err = _one_line(capsys, ["train", "--config", str(cfg_file), "--data", str(tiny_archive), "--out", str(blocker)])
    assert "is a file" in err and blocker.read_text() == "user's file"
    err = _one_line(capsys, ["generate", str(run32), "--out", str(blocker)])  # a folder of PNGs was asked for
    assert "is a file" in err and blocker.read_text() == "user's file"
    (tmp_path / "grid.png").mkdir()
    assert "is a folder" in _one_line(capsys, ["generate", str(run32), "--out", str(tmp_path / "grid.png")])
    assert list((tmp_path / "grid.png").iterdir()) == []


def test_an_output_folder_named_like_a_file_is_one_line_and_nothing_is_made(tiny_archive, cfg_file, run32, tmp_path,
                                                                              capsys):
    """generate --out g.jpgx (a mistyped grid) made a folder of PNGs named g.jpgx; train, search
    and dataset prepare --out runs.png / mnist.npz made folders of those names too."""
    for name in ("g.jpgx", "g.pngs", "g.gif", "g.json"):
        err = _one_line(capsys, ["generate", str(run32), "--out", str(tmp_path / name)])
        assert name in err and "not a grid format" in err
    err = _one_line(capsys, ["train", "--config", str(cfg_file), "--data", str(tiny_archive), "--out",
                             str(tmp_path / "runs.png")])
    assert "runs.png" in err and "file suffix" in err
    err = _one_line(capsys, ["search", "--preset", "dggan-mnist-32", "--data", str(tiny_archive), "--out",
                             str(tmp_path / "search.json")])
    assert "search.json" in err and "file suffix" in err
    err = _one_line(capsys, ["dataset", "prepare", str(tiny_archive), "--out", str(tmp_path / "copy.npz")])
    assert "copy.npz" in err and "file suffix" in err
    assert list(tmp_path.iterdir()) == []  # nothing made
    (tmp_path / "grids.json").mkdir()  # an existing folder is used as it is, whatever its name
    assert main(["generate", str(run32), "--out", str(tmp_path / "grids.json"), "--num", "3", "--quiet"]) == 0
    assert len(list((tmp_path / "grids.json").iterdir())) == 3
    # a dot in a folder name is no suffix to refuse: samples_psi0.7 is made as a folder
    assert main(["generate", str(run32), "--out", str(tmp_path / "samples_psi0.7"), "--num", "2", "--quiet"]) == 0
    assert len(list((tmp_path / "samples_psi0.7").iterdir())) == 2


def test_read_only_output_folders(tiny_archive, cfg_file, run32, tmp_path, capsys, monkeypatch):
    """As root a chmod 0555 folder is still writable, so here os.access reports the folder
    read-only (the check consults it first); test_read_only_for_real runs the real thing
    under an unprivileged uid."""
    ro = tmp_path / "ro"
    ro.mkdir()
    run = ro / "run"
    shutil.copytree(run32, run)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p).startswith(str(ro)) else real_access(p, m))
    before = sorted(str(p) for p in ro.rglob("*"))
    assert "not writable" in _one_line(capsys, ["train", "--config", str(cfg_file), "--data", str(tiny_archive),
                                                "--out", str(ro / "runs")])
    assert "not writable" in _one_line(capsys, ["train", "--resume", str(run), "--kimg", "0.096", "--quiet"])
    assert "not writable" in _one_line(capsys, ["generate", str(run32), "--out", str(ro / "grid.png")])
    assert "not writable" in _one_line(capsys, ["generate", str(run32), "--out", str(ro / "pngs")])
    # metrics append to the run folder: it computed first and failed at the append (hours of FID lost)
    assert "not writable" in _one_line(capsys, ["metrics", str(run), "--data", str(tiny_archive), "--metrics", "swd",
                                                "--num", "16"])
    assert sorted(str(p) for p in ro.rglob("*")) == before


def _can_drop_privileges() -> bool:
    return hasattr(os, "setuid") and os.geteuid() == 0


@pytest.mark.skipif(not _can_drop_privileges(), reason="needs root to run a child as 'nobody'")
def test_read_only_for_real(run32, tmp_path):
    """chmod 0555 folders, growgan run as uid 65534 (nobody): the kernel refuses the writes."""
    ro = tmp_path / "ro"
    ro.mkdir()
    run = ro / "run"
    shutil.copytree(run32, run)
    for p in [ro, *ro.rglob("*")]:
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    os.chmod(tmp_path, 0o755)
    for parent in tmp_path.parents:  # nobody must reach the folder (pytest's base is 0700)
        if str(parent).startswith(tempfile_base()):
            os.chmod(parent, os.stat(parent).st_mode | 0o055)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": SRC, "HOME": str(tmp_path)}

    def as_nobody(*argv):
        return subprocess.run(GROWGAN + list(argv), env=env, capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))

    try:
        probe = as_nobody("--version")
    except PermissionError as exc:  # e.g. the interpreter lives under /root (0700)
        pytest.skip(f"nobody cannot run this interpreter: {exc}")
    if probe.returncode != 0:
        pytest.skip(f"nobody cannot run growgan here: {probe.stderr.strip()[-200:]}")
    before = sorted(str(p) for p in ro.rglob("*"))
    for argv in (["train", "--resume", str(run), "--kimg", "0.096", "--quiet"],
                 ["generate", str(run), "--out", str(ro / "grid.png")],
                 ["dataset", "prepare", "builtin", "--out", str(ro / "arc")]):
        r = as_nobody(*argv)
        err = r.stderr.strip()
        assert r.returncode == 2 and "\n" not in err and "not writable" in err, (argv, err)
    assert sorted(str(p) for p in ro.rglob("*")) == before


def _ro_bind_works() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    r = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind / /mnt 2>/dev/null || true; "
                        "mount -t tmpfs -o ro none /mnt && echo ok"], capture_output=True, text=True)
    return r.stdout.strip() == "ok"


@pytest.mark.skipif(not _ro_bind_works(), reason="needs root and mount namespaces (unshare -m)")
def test_read_only_mount_for_real(run32, cfg_file, tiny_archive, tmp_path):
    """The output folders bind-mounted read-only in a private mount namespace: the kernel
    answers EROFS even to root. Train, resume, generate and prepare stop with one line and change
    nothing."""
    ro = tmp_path / "ro"
    ro.mkdir()
    run = ro / "run"
    shutil.copytree(run32, run)
    before = {str(p): p.stat().st_mtime_ns for p in ro.rglob("*")}
    commands = [["train", "--config", str(cfg_file), "--data", str(tiny_archive), "--out", str(ro / "runs"), "--quiet"],
                ["train", "--resume", str(run), "--kimg", "0.096", "--quiet"],
                ["generate", str(run), "--out", str(ro / "grid.png")],
                ["dataset", "prepare", "builtin", "--out", str(ro / "arc")]]
    import shlex

    script = f"mount --bind {shlex.quote(str(ro))} {shlex.quote(str(ro))} && " \
             f"mount -o remount,ro,bind {shlex.quote(str(ro))} && " + " ; ".join(
                 " ".join(shlex.quote(a) for a in GROWGAN + argv) + " ; echo rc=$?" for argv in commands)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": SRC}
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert r.stdout.split().count("rc=2") == 4, (r.stdout, r.stderr)
    errs = r.stderr.strip().splitlines()
    assert len(errs) == 4 and all(e.startswith("growgan: error: ") and "not writable" in e for e in errs), errs
    assert {str(p): p.stat().st_mtime_ns for p in ro.rglob("*")} == before


def tempfile_base() -> str:
    import tempfile

    return tempfile.gettempdir()
