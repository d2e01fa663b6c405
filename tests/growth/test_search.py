"""DGGAN search: proposals, top-K pruning, logs, resume after a kill without retraining, and
the same result from 2 processes under torchrun (gloo, CPU).

The candidate trainer here is a tiny deterministic stand-in (a few real GAN steps through
DGGrowth on random "reals"), so these tests check the search's bookkeeping quickly; the
engine-backed end-to-end search is tested in test_search_cli.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from growgan.growth.dggan import DGGrowth
from growgan.growth.search import Candidate, Search, SearchConfig, action_space, propose, select
from growgan.networks.dggan import initial_spec
from growgan.training.config import TrainConfig
from growgan.training.state import TrainState

SEARCH = {"K": 2, "p": 0.5, "kernels": [1, 3], "widths": [4, 8], "root_widths": [4], "max_layers_per_stage": 2,
          "max_children": 2, "settle_kimg": 0.008, "target_resolution": 8, "max_steps": 2, "final_kimg": 0.1,
          "metric": "toy", "seed": 3}


def small_config() -> TrainConfig:
    spec = initial_spec(img_channels=1, z_dim=8, base_resolution=(4, 4), width=4)
    return TrainConfig(network=spec, growth={"kind": "dggan", "fade_kimg": 0.008, "search": dict(SEARCH)}, batch_size=4)


def standin_train(config, archive, state, until, resume=None):
    """A few deterministic GAN steps with the DGGAN growth controller (not the engine)."""
    growth = DGGrowth.from_config(config)
    if state is None:
        torch.manual_seed(config.seed)
        from growgan.networks.registry import build_networks

        G, D = build_networks(config.network)
        G_ema, _ = build_networks(config.network)
        G_ema.load_state_dict(G.state_dict())
        state = TrainState(spec=config.network, G=G, D=D, G_ema=G_ema.requires_grad_(False),
                           opt_G=torch.optim.Adam(G.parameters(), 1e-3), opt_D=torch.optim.Adam(D.parameters(), 1e-3))
    start = state.images_seen
    gen = torch.Generator().manual_seed(len(config.growth["history"]) * 1000 + state.images_seen)
    while state.images_seen < until:
        growth.apply(state)
        reals = growth.prepare_reals(torch.rand(4, 1, 16, 16, generator=gen) * 2 - 1, state)
        z = torch.randn(4, state.G.z_dim, generator=gen)
        d_loss = F.softplus(state.D(state.G(z).detach())).mean() + F.softplus(-state.D(reals)).mean()
        state.opt_D.zero_grad()
        d_loss.backward()
        state.opt_D.step()
        g_loss = F.softplus(-state.D(state.G(z))).mean()
        state.opt_G.zero_grad()
        g_loss.backward()
        state.opt_G.step()
        state.G_ema.load_state_dict(state.G.state_dict())
        state.images_seen += 4
    growth.apply(state)
    calls = os.environ.get("STANDIN_CALLS")
    if calls:
        with open(calls, "a") as f:
            f.write(f"{os.environ.get('RANK', '0')} {len(config.growth['history'])} {until}\n")
    flops = (resume or {}).get("flops", 0) + 1000 * (state.images_seen - start)
    return state, {"flops": flops, "train_s": 0.0}


def standin_score(G, archive, cfg, seed):
    """A deterministic score from the generator's images (mean absolute pixel value)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        img = G(torch.randn(8, G.z_dim, generator=gen))
    return {"toy": float(img.abs().mean())}


def _rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "search.jsonl").read_text().splitlines()]


def _summary(run_dir: Path) -> list[tuple]:
    return [(r["type"], r.get("id"), r.get("action"), r.get("score"), tuple(r.get("survivors", ()))) for r in _rows(run_dir)]


def test_action_space_and_proposals():
    cfg = SearchConfig.from_dict(SEARCH)
    spec = initial_spec(width=4, base_resolution=(4, 4))
    space = action_space(spec, cfg)
    assert len(space) == 2 * 2 * 2 + 2  # G/D x kernels x widths + grow-resolution x widths
    parent = Candidate(id="root", parent=None, step=0, action=None, history=[], spec=spec)
    picks = propose(parent, 1, cfg)
    assert picks == propose(parent, 1, cfg) and 2 <= len(picks) <= cfg.max_children + 1  # deterministic
    assert picks[0] == {"op": "keep"} and all(a in space for a in picks[1:])  # no growth is always tried
    # the last step with a doubling still to do: only grow-resolution, no keep
    last = propose(parent, cfg.max_steps, cfg)
    assert last and all(a["op"] == "grow-resolution" for a in last)
    c = [Candidate(id=f"c{i}", parent="root", step=1, action=None, history=[], score=s) for i, s in enumerate([3.0, None, 1.0, 2.0])]
    assert [x.id for x in select(c, cfg)] == ["c2", "c3"]  # lower is better; a missing score loses


def test_search_runs_logs_and_resumes_after_a_kill(tmp_path, monkeypatch):
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("STANDIN_CALLS", str(calls))
    full = tmp_path / "full"
    best = Search(small_config(), tmp_path, full, standin_train, standin_score, log=lambda s: None).run()
    n_trained = len(calls.read_text().splitlines())
    rows = _rows(full)
    cand_rows = [r for r in rows if r["type"] == "candidate"]
    assert len(cand_rows) == n_trained
    assert {"id", "parent", "action", "spec", "kimg", "score", "score_std", "flops", "train_s", "wall_s"} <= set(cand_rows[0])
    for r in cand_rows:  # each candidate's own FLOPs (the stand-in counts 1000 per image trained)
        parent_kimg = next((p["kimg"] for p in cand_rows if p["id"] == r["parent"]), 0.0)
        assert r["flops"] == round(1000 * 1000 * (r["kimg"] - parent_kimg)) and r["score_std"] is not None
    assert best.spec == json.loads((full / "best_spec.json").read_text())
    assert best.spec["G"]["fade"] is None and len(best.spec["G"]["stages"]) == 2  # reached 8x8 from 4x4
    assert (full / "tree.png").stat().st_size > 0 and (full / "tree.html").is_file()
    step_rows = [r for r in rows if r["type"] == "step"]
    for r in step_rows[1:]:  # top-K: each kept set is the K best of its step
        scores = sorted(c["score"] for c in cand_rows if c["step"] == r["step"])
        assert sorted(r["scores"]) == scores[: len(r["scores"])]

    # a kill after 2 trained candidates (in the middle of a step), then --resume
    calls.unlink()
    killed = tmp_path / "killed"
    counter = {"n": 0}

    def dying_train(*args):
        if counter["n"] == 2:
            raise KeyboardInterrupt
        counter["n"] += 1
        return standin_train(*args)

    with pytest.raises(KeyboardInterrupt):
        Search(small_config(), tmp_path, killed, dying_train, standin_score, log=lambda s: None).run()
    finished = len(list((killed / "candidates").glob("*/result.json")))
    assert finished == 2 < n_trained
    Search(small_config(), tmp_path, killed, standin_train, standin_score, log=lambda s: None).run()
    assert len(calls.read_text().splitlines()) == n_trained  # 2 before the kill + the rest after, none twice
    assert _summary(killed) == _summary(full)  # nothing lost, same search


WORKER = """
import sys
sys.path.insert(0, {testdir!r})
from test_search import Search, small_config, standin_train, standin_score
from growgan.training.distributed import init_from_env
info = init_from_env("cpu")
Search(small_config(), {archive!r}, {out!r}, standin_train, standin_score, rank=info.rank, world_size=info.world_size).run()
"""


def test_two_processes_share_the_children_and_agree_with_one(tmp_path):
    one = tmp_path / "one"
    Search(small_config(), tmp_path, one, standin_train, standin_score, log=lambda s: None).run()
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(testdir=str(Path(__file__).parent), archive=str(tmp_path), out=str(tmp_path / "two")))
    env = dict(os.environ, STANDIN_CALLS=str(tmp_path / "calls.txt"), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
                           str(script)], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [line.split()[0] for line in (tmp_path / "calls.txt").read_text().splitlines()]
    assert set(ranks) == {"0", "1"}  # both ranks trained children
    two, ref = _summary(tmp_path / "two"), _summary(one)
    # same candidates, actions and survivors; scores equal up to float summation order (threads)
    assert [r[:3] + r[4:] for r in two] == [r[:3] + r[4:] for r in ref]
    assert [r[3] for r in two if r[0] == "candidate"] == pytest.approx([r[3] for r in ref if r[0] == "candidate"], rel=1e-4)


def test_run_seed_drives_the_search_proposals(tmp_path):
    """--seed sets the search's own seed (proposals, new-layer init), so seeds give different
    searches; a seed set under growth.search stays."""
    import argparse

    from growgan.cli.search import _resolve_config

    args = argparse.Namespace(resume=None, preset="dggan-mnist-32", config=None, overrides=[], seed=5, name=None)
    cfg, _ = _resolve_config(args)
    assert cfg.seed == 5 and cfg.growth["search"]["seed"] == 5
    config = small_config().copy(seed=7)
    config.growth["search"].pop("seed")
    assert Search(config, tmp_path, tmp_path / "run").cfg.seed == 7  # defaults to the run's seed
    assert Search(small_config(), tmp_path, tmp_path / "run2").cfg.seed == 3  # an explicit one wins
    parent = Candidate(id="root", parent=None, step=0, action=None, history=[], spec=small_config().network)
    props = {s: json.dumps(propose(parent, 1, SearchConfig.from_dict({**SEARCH, "seed": s})), sort_keys=True)
             for s in range(6)}
    assert len(set(props.values())) > 1  # different seeds, different proposals


def _free_port() -> int:
    """A TCP port nothing listens on now (other test runs may share this machine)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("damage", ["truncated", "edited", "no-checkpoint"])
def test_damaged_candidate_result_is_retrained_on_resume(tmp_path, monkeypatch, damage):
    """A truncated or edited result.json (or one without its checkpoint) is not a finished
    candidate: --resume trains that candidate again and the search comes out the same."""
    full = tmp_path / "full"
    Search(small_config(), tmp_path, full, standin_train, standin_score, log=lambda s: None).run()
    victim = sorted((full / "candidates").glob("*/result.json"))[1]
    text = victim.read_text()
    if damage == "truncated":
        victim.write_text(text[: len(text) // 2])
    elif damage == "edited":
        victim.write_text(json.dumps({**json.loads(text), "images_seen": "lots"}))
    else:
        (victim.parent / "checkpoint.pt").unlink()
    calls, logs = tmp_path / "calls.txt", []
    monkeypatch.setenv("STANDIN_CALLS", str(calls))
    Search(small_config(), tmp_path, full, standin_train, standin_score, log=logs.append).run()
    assert len(calls.read_text().splitlines()) == 1  # that candidate alone
    assert any(f"training candidate {victim.parent.name} again" in line for line in logs)
    again = json.loads(victim.read_text())
    timing = {k: again[k] for k in ("wall_s", "eval_s") if k in again}  # seconds measured: differ between runs
    assert again == json.loads(text) | timing


@pytest.mark.parametrize("metric", ["class-accuracy", "is", "pr"])
def test_a_higher_is_better_metric_cannot_select(tmp_path, metric):
    """Top-K keeps the lowest scores: a metric where higher is better would keep the worst."""
    from growgan.errors import GrowganError

    config = small_config()
    growth = dict(config.growth)
    growth["search"] = dict(growth["search"], metric=metric)
    with pytest.raises(GrowganError, match="higher is better"):
        Search(config.copy(growth=growth), tmp_path / "data", tmp_path / "run")
