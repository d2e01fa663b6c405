"""A `growgan train` stopped (Ctrl-C, an error) after its run folder is made but before
training takes it over leaves no half-made folder (config.json, run.json and the lock alone):
the window was the seconds of importing the training engine, and the writes of _new_run.
The search's folder likewise."""

from __future__ import annotations

import json
import sys

import pytest
from engine_helpers import tiny_config

from growgan.cli import main


def _argv(tmp_path, archive) -> list[str]:
    f = tmp_path / "cfg.json"
    f.write_text(json.dumps(tiny_config(tensorboard=False).to_dict()))
    return ["train", "--config", str(f), "--data", str(archive), "--kimg", "0.016", "--out", str(tmp_path / "runs"),
            "--quiet"]


def _runs(tmp_path) -> list[str]:
    out = tmp_path / "runs"
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


def test_interrupt_while_the_engine_imports_leaves_no_run_folder(tiny_archive, tmp_path, monkeypatch):
    # an import that fails stands for Ctrl-C during it: both left runs/00000-<name> behind
    monkeypatch.delitem(sys.modules, "growgan.growth", raising=False)
    monkeypatch.setitem(sys.modules, "growgan.growth", None)
    with pytest.raises(ImportError):
        main(_argv(tmp_path, tiny_archive))
    assert _runs(tmp_path) == []


def test_interrupt_between_folder_and_training_leaves_no_run_folder(tiny_archive, tmp_path, monkeypatch):
    from growgan.training import distributed

    real, calls = distributed.share_from_main, []

    def share(value, error=None):  # the second call shares the run folder, after it is made
        calls.append(value)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(value, error)

    monkeypatch.setattr(distributed, "share_from_main", share)
    assert main(_argv(tmp_path, tiny_archive)) == 130  # "growgan: interrupted"
    assert len(calls) == 2 and _runs(tmp_path) == []


def test_failed_write_of_run_json_leaves_no_run_folder(tiny_archive, tmp_path, monkeypatch, capsys):
    from growgan.errors import GrowganError
    from growgan.utils import io

    real = io.atomic_write_json

    def write(path, obj, *a, **kw):
        if str(path).endswith("run.json"):
            raise GrowganError(f"{path}: no space left on device; free space")
        return real(path, obj, *a, **kw)

    monkeypatch.setattr(io, "atomic_write_json", write)
    assert main(_argv(tmp_path, tiny_archive)) == 2
    assert "run.json" in capsys.readouterr().err and _runs(tmp_path) == []


def test_an_interrupted_quiet_run_still_says_where_its_checkpoint_is(tiny_archive, tmp_path, monkeypatch, capsys):
    import os
    import signal

    from growgan.training.loop import Trainer

    real = Trainer.step

    def step_then_signal(self, *a, **kw):
        out = real(self, *a, **kw)
        if self.state.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill` or a scheduler would stop it
        return out

    monkeypatch.setattr(Trainer, "step", step_then_signal)
    argv = _argv(tmp_path, tiny_archive)
    argv[argv.index("0.016")] = "0.8"
    assert main(argv) == 128 + signal.SIGTERM
    err = capsys.readouterr().err.strip().splitlines()
    ckpt = tmp_path / "runs" / _runs(tmp_path)[0] / "checkpoints" / "checkpoint-000000016.pt"
    assert err == [f"interrupted at kimg 0.016; checkpoint {ckpt}"] and ckpt.exists()


# ---------------------------------------------------------------------------- any error before the first checkpoint
def _failing_step(monkeypatch, at_step: int, error: BaseException) -> list[int]:
    """Make Trainer.step raise `error` when called at state.step == at_step (the steps before
    it are real); -> the steps at which it was called."""
    from growgan.training.loop import Trainer

    real, calls = Trainer.step, []

    def step(self, *a, **kw):
        calls.append(self.state.step)
        if self.state.step == at_step:
            raise error
        return real(self, *a, **kw)

    monkeypatch.setattr(Trainer, "step", step)
    return calls


def _long_argv(tmp_path, archive, stats: bool = False) -> list[str]:
    """A run of 8 steps of 8 images; its first checkpoint (and grid) comes after step 4. Its
    first stats.jsonl row comes after step 0 with stats=True, else only at the end."""
    argv = _argv(tmp_path, archive)
    argv[argv.index("0.016")] = "0.064"
    return argv if stats else argv + ["--set", "log_kimg=1"]


@pytest.mark.parametrize("at_step", [0, 3])
def test_out_of_memory_before_the_first_checkpoint_leaves_no_run_folder(tiny_archive, tmp_path, monkeypatch,
                                                                        at_step):
    # at step 3 the folder held config.json, run.json, log.txt and stats.jsonl, but no
    # checkpoint: nothing to resume, yet it stayed (only a failure at step 0 removed it)
    calls = _failing_step(monkeypatch, at_step, RuntimeError("CUDA out of memory. Tried to allocate 40.00 GiB"))
    with pytest.raises(RuntimeError, match="out of memory"):  # the error still reaches the user, as it was
        main(_long_argv(tmp_path, tiny_archive))
    assert calls[-1] == at_step and _runs(tmp_path) == []


def test_memory_error_and_one_line_errors_before_the_first_checkpoint_leave_no_run_folder(tiny_archive, tmp_path,
                                                                                         monkeypatch, capsys):
    from growgan.errors import GrowganError

    _failing_step(monkeypatch, 2, MemoryError())
    with pytest.raises(MemoryError):
        main(_long_argv(tmp_path, tiny_archive))
    assert _runs(tmp_path) == []
    _failing_step(monkeypatch, 2, GrowganError("batch: something the user can fix; the fix"))
    assert main(_long_argv(tmp_path, tiny_archive)) == 2  # still one line, exit status 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "growgan: error: batch: something the user can fix; the fix"
    assert _runs(tmp_path) == []


def test_an_error_after_stats_were_written_keeps_the_run_folder(tiny_archive, tmp_path, monkeypatch):
    # checkpoint_kimg=0 ("only at the end"): a failure late in a run that has no checkpoint
    # yet still has stats rows (and would have grids) that show what happened: kept
    _failing_step(monkeypatch, 3, RuntimeError("out of memory"))
    with pytest.raises(RuntimeError, match="out of memory"):
        main(_long_argv(tmp_path, tiny_archive, stats=True) + ["--set", "checkpoint_kimg=0"])
    (name,) = _runs(tmp_path)
    run = tmp_path / "runs" / name
    assert (run / "stats.jsonl").stat().st_size > 0 and not list((run / "checkpoints").glob("*.pt"))


def test_an_error_after_the_first_checkpoint_keeps_the_run_folder(tiny_archive, tmp_path, monkeypatch):
    _failing_step(monkeypatch, 5, RuntimeError("out of memory"))  # after the checkpoint at 32 images (step 4)
    with pytest.raises(RuntimeError, match="out of memory"):
        main(_long_argv(tmp_path, tiny_archive))
    (name,) = _runs(tmp_path)
    assert (tmp_path / "runs" / name / "checkpoints" / "checkpoint-000000032.pt").is_file()


def test_a_failing_resume_never_removes_the_run_folder(tiny_archive, tmp_path, monkeypatch):
    assert main(_argv(tmp_path, tiny_archive)) == 0  # 2 steps, checkpoint at 16 images
    (name,) = _runs(tmp_path)
    run = tmp_path / "runs" / name
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    ckpt = run / "checkpoints" / "checkpoint-000000016.pt"
    saved = ckpt.read_bytes()
    for at_step in (2, 4):  # the resumed run's first step, and a later one (before its next checkpoint)
        calls = _failing_step(monkeypatch, at_step, RuntimeError("out of memory"))
        with pytest.raises(RuntimeError, match="out of memory"):
            main(["train", "--resume", str(run), "--kimg", "0.064", "--quiet", "--set", "checkpoint_kimg=0.064"])
        monkeypatch.undo()
        assert calls[-1] == at_step
        assert all((run / p).exists() for p in before) and ckpt.read_bytes() == saved
