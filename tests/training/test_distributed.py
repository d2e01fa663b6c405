"""Two CPU processes under torchrun (gloo): identical weights on both ranks, exact resume
in process and through `torchrun -m growgan train --resume`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import torch
from test_resume import assert_same

from growgan.training.checkpoint import latest_checkpoint

HERE = Path(__file__).resolve().parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes", "1", "--nproc_per_node", "2"]


def _run(args, timeout=150):
    """torchrun in its own session, so a hang kills the launcher and both workers."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(TORCHRUN + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError("torchrun timed out:\n" + out[-3000:]) from None
    assert proc.returncode == 0, out[-4000:]


def test_two_processes_identical_weights_and_exact_resume(tiny_archive, tmp_path):
    _run([str(HERE / "ddp_worker.py"), str(tiny_archive), str(tmp_path)])
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["world"] == 2 and r0["A"]["images_seen"] == 8 * 16  # global batch = 2 x 8
    assert_same(r0["A"], r1["A"])  # both ranks hold the same networks and optimizer moments
    assert_same(r0["A"], r0["C"])  # k + resume + k == 2k under torchrun
    assert_same(r1["A"], r1["C"])
    # only rank 0 wrote: one run folder, checkpoints of the global image count
    run = tmp_path / "run"
    assert sorted(p.name for p in (run / "checkpoints").iterdir())[-1] == "checkpoint-000000128.pt"

    # the CLI resumes the same run under torchrun, from its first checkpoint, to the same weights
    for p in sorted((run / "checkpoints").iterdir())[1:]:
        p.unlink()
    assert latest_checkpoint(run)[0].name == "checkpoint-000000064.pt"
    _run(["-m", "growgan", "train", "--resume", str(run), "--data", str(tiny_archive), "--kimg", "0.128", "--quiet"])
    final = latest_checkpoint(run)[1]["state"]
    assert final["images_seen"] == 128
    for k in ("G", "D", "G_ema", "opt_G", "opt_D"):
        assert_same(r0["A"][k], final[k], k)


def test_two_processes_train_translation_tasks_to_identical_weights(tmp_path):
    """Pix2Pix and CycleGAN (two generators in one G, two PatchGANs in one D) under torchrun:
    the ranks draw different batches, yet hold the same networks and optimizer moments after
    training, so every network's gradients are averaged across processes."""
    from paired_helpers import make_paired_archive
    from test_cyclegan_task import make_unpaired_archive

    paired = make_paired_archive(tmp_path / "paired")
    unpaired = make_unpaired_archive(tmp_path / "unpaired")
    _run([str(HERE / "translation_ddp_worker.py"), str(paired), str(unpaired), str(tmp_path)])
    for task in ("pix2pix", "cyclegan"):
        r0 = torch.load(tmp_path / f"{task}-rank0.pt", weights_only=False)
        r1 = torch.load(tmp_path / f"{task}-rank1.pt", weights_only=False)
        assert r0["world"] == 2 and r0["state"]["images_seen"] == 3 * 4 * 2, task  # global batch = 2 x 4
        assert not all(torch.equal(x, y) for x, y in zip(r0["first_batch"], r1["first_batch"])), task
        for k in ("G", "D", "G_ema", "opt_G", "opt_D"):
            assert_same(r0["state"][k], r1["state"][k], f"{task} {k}")
        for k in ("G", "D"):  # and training moved every sub-network (not a comparison of initial copies)
            subnets = ("G_AB", "G_BA") if k == "G" else ("D_A", "D_B")
            for sub in subnets if task == "cyclegan" else ("",):
                moved = [n for n, t in r0["state"][k].items() if n.startswith(sub) and t.is_floating_point()
                         and not torch.equal(t, r0["initial"][k][n])]
                assert moved, f"{task} {k} {sub}: no weight changed"


def test_a_bad_input_seen_by_rank_0_is_one_line_from_every_rank(tmp_path):
    """Rank 0 alone resolves --data and makes the run folder. Its one-line error used to leave
    rank 1 waiting in a collective, which then printed a gloo traceback ('Connection closed by
    peer'); now rank 1 stops with status 2 and says nothing, so growgan prints one line (the
    launcher's own failure report follows, which is torchrun's)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    missing = tmp_path / "no-such-archive"
    r = subprocess.run(TORCHRUN + ["-m", "growgan", "train", "--preset", "dcgan-32", "--data", str(missing),
                                   "--out", str(tmp_path / "runs"), "--quiet"],
                       env=env, capture_output=True, text=True, timeout=150, start_new_session=True)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert [line for line in out.splitlines() if line.startswith("growgan: error:")] == \
        [f"growgan: error: {missing}: no such archive; create one with `growgan dataset prepare SOURCE --out {missing}`"]
    assert "[rank1]" not in out and "Connection closed" not in out, out[-3000:]
    assert "exitcode  : 2" in out  # both ranks exit with the user-error status
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_failure_on_another_rank_after_the_first_step_keeps_the_run_folder(tiny_archive, tmp_path):
    """Rank 1 fails at step 3 (no checkpoint, no stats row yet); rank 0 then sees only gloo's
    collective error and cannot tell a peer's divergence from its own fault. It used to delete
    the run folder, log included; now it keeps it."""
    import json

    from engine_helpers import tiny_config

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(tiny_config(log_kimg=1.0, checkpoint_kimg=1.0, grid_kimg=1.0).to_dict()))
    script = tmp_path / "fail_on_rank1.py"
    script.write_text(
        "import os, sys\n"
        "from growgan.cli import main\n"
        "from growgan.training.loop import Trainer\n"
        "real = Trainer.step\n"
        "def step(self, *a, **kw):\n"
        "    if os.environ['RANK'] == '1' and self.state.step == 3:\n"
        "        raise RuntimeError('simulated failure on rank 1')\n"
        "    return real(self, *a, **kw)\n"
        "Trainer.step = step\n"
        "sys.exit(main(sys.argv[1:]))\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(TORCHRUN + [str(script), "train", "--config", str(cfg), "--data", str(tiny_archive), "--kimg",
                                   "0.128", "--out", str(tmp_path / "runs"), "--quiet"],
                       env=env, capture_output=True, text=True, timeout=150, start_new_session=True)
    assert r.returncode != 0 and "simulated failure on rank 1" in r.stdout + r.stderr
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "log.txt").is_file() and not list((run / "checkpoints").glob("*.pt"))
