"""DGGAN architecture search by top-K greedy pruning (Liu et al., AAAI 2021, arXiv 2106.08505).

Training alternates with growing. Every growing step, each of the K kept architectures
proposes children: each action of the action space (``G+conv(k, w)``, ``D+conv(k, w)``,
``grow-resolution``) is sampled with probability p. Each child starts from a copy of its
parent's training state (weights, EMA, optimizer moments; the new layer fades in), trains
for T kimg, and is scored by a selection metric (SWD by default) on a fixed evaluation
seed and sample count; the best K children (optionally with their parents) survive. The
search stops when every survivor is at the target resolution and has seen the search
budget; then the best trains on to the final length.

Files (run folder): ``search.jsonl`` (one row per candidate, one per step with its
survivors), ``candidates/<id>/checkpoint.pt`` + ``result.json`` (each written atomically;
a candidate counts as finished only once its result exists, so a killed search resumes
without retraining anything finished), ``tree.png`` / ``tree.html``, ``best_spec.json``,
and the final model's ``checkpoints/``, ``grids/``, ``stats.jsonl`` (a normal run folder).
Under torchrun, each rank trains its share of a step's children; rank 0 writes the logs.
"""

from __future__ import annotations

import json
import math
import random
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from growgan.data.archive import open_archive
from growgan.errors import GrowganError
from growgan.growth import build_trainer
from growgan.growth.dggan import spec_at
from growgan.networks.dggan import action_name, describe, settle, spec_resolution
from growgan.growth.tree import draw_tree
from growgan.metrics import evaluate_generator
from growgan.training import distributed as dist_utils
from growgan.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, restore_state, save_checkpoint
from growgan.training.growth_config import DGGrowthConfig, SearchConfig
from growgan.training.report import RunReporter
from growgan.training.rundir import write_config
from growgan.utils.units import kimg_to_images
from growgan.utils.io import append_jsonl, atomic_write_json
from growgan.utils.progress import bar


@dataclass
class Candidate:
    """One architecture with its training history; stored as result.json."""

    id: str
    parent: str | None
    step: int
    action: dict[str, Any] | None  # None for the root
    history: list[dict[str, Any]]  # replayable growth history (actions with "at")
    images_seen: int = 0
    steps_at_res: int = 0  # growing steps since the last resolution change
    score: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    spec: dict = field(default_factory=dict)
    rank: int = 0  # the process that trained it

    @property
    def sort_key(self) -> float:
        s = self.score
        return math.inf if s is None or not math.isfinite(s) else s


# --------------------------------------------------------------------------- proposals
def action_space(spec: dict, cfg: SearchConfig) -> list[dict[str, Any]]:
    """Every action allowed from `spec` (settled)."""
    actions: list[dict[str, Any]] = []
    for net, op in (("G", "G+conv"), ("D", "D+conv")):
        if len(spec[net]["stages"][-1]) < cfg.max_layers_per_stage:
            actions += [{"op": op, "k": k, "w": w} for k in cfg.kernels for w in cfg.widths]
    if spec_resolution(spec)[0] < cfg.target_resolution:
        actions.append({"op": "grow-resolution"})
    return actions


def propose(parent: Candidate, step: int, cfg: SearchConfig) -> list[dict[str, Any]]:
    """The actions `parent` tries at `step`: each sampled with probability p (at least one),
    deterministic in (seed, step, parent id) so a resumed search proposes the same children."""
    rng = random.Random(f"{cfg.seed}/{step}/{parent.id}")
    space = action_space(parent.spec, cfg)
    grow = [a for a in space if a["op"] == "grow-resolution"]
    if grow and parent.steps_at_res >= cfg.steps_per_resolution:
        return grow  # the ProGAN-like schedule: move on to the next resolution
    if not space:
        return []
    picked = [a for a in space if rng.random() < cfg.p] or [rng.choice(space)]
    if cfg.max_children and len(picked) > cfg.max_children:
        picked = rng.sample(picked, cfg.max_children)
    return picked


def make_child(parent: Candidate, action: dict, step: int, index: int) -> Candidate:
    grew = action["op"] == "grow-resolution"
    return Candidate(
        id=f"s{step}c{index}",
        parent=parent.id,
        step=step,
        action=dict(action),
        history=parent.history + [dict(action, at=parent.images_seen)],
        images_seen=parent.images_seen,
        steps_at_res=0 if grew else parent.steps_at_res + 1,
    )


def select(children: list[Candidate], parents: list[Candidate], cfg: SearchConfig) -> list[Candidate]:
    """Top-K greedy pruning: the K best by score (lower is better), ties by id."""
    pool = children + (parents if cfg.include_parents else [])
    return sorted(pool, key=lambda c: (c.sort_key, c.id))[: cfg.K]


# --------------------------------------------------------------------------- the search
TrainFn = Callable[[Any, Any, Any, int], Any]  # (config, archive, state or None, until) -> state
ScoreFn = Callable[[Any, Path, "SearchConfig"], dict[str, float]]


class Search:
    """Runs (or resumes) a search in `run_dir`. `train_fn` and `score_fn` default to the
    training engine and `growgan.metrics.evaluate_generator`; tests may pass small ones."""

    def __init__(self, config, archive: str | Path, run_dir: str | Path,
                 train_fn: TrainFn | None = None, score_fn: ScoreFn | None = None,
                 rank: int = 0, world_size: int = 1, log: Callable[[str], None] = print):
        self.config = config
        self.archive = Path(archive)
        self.run_dir = Path(run_dir)
        search = dict((config.growth or {}).get("search") or {})
        search.setdefault("seed", config.seed)  # proposals follow the run's seed unless set apart
        self.cfg = SearchConfig.from_dict(search)
        self.growth_cfg = DGGrowthConfig.from_dict(config.growth or {})
        self.train_fn = train_fn or engine_train
        self.score_fn = score_fn or engine_score
        self.rank, self.world = rank, world_size
        self.log = log if rank == 0 else (lambda s: None)

    # -- files
    def _cand_dir(self, cid: str) -> Path:
        return self.run_dir / "candidates" / cid

    def _load_result(self, cid: str) -> Candidate | None:
        """The finished candidate `cid`, or None when it must be (re)trained: no result.json,
        or one that is truncated or edited beyond use, or no checkpoint beside it."""
        path = self._cand_dir(cid) / "result.json"
        if not path.is_file():
            return None
        try:
            cand = Candidate(**json.loads(path.read_text(encoding="utf-8")))
            ok = (cand.id == cid and isinstance(cand.spec, dict) and isinstance(cand.history, list)
                  and isinstance(cand.images_seen, int) and (self._cand_dir(cid) / "checkpoint.pt").is_file())
        except (ValueError, TypeError, UnicodeDecodeError, OSError):
            ok = False
        if not ok:
            self.log(f"{path}: damaged or incomplete; training candidate {cid} again")
            return None
        return cand

    def _rows(self) -> list[dict]:
        path = self.run_dir / "search.jsonl"
        rows = []
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a torn last line from a kill
        return rows

    def _write_row(self, row: dict) -> None:
        if self.rank == 0:
            append_jsonl(self.run_dir / "search.jsonl", row)

    # -- one candidate
    def _config_for(self, cand: Candidate):
        growth = dict(self.config.growth or {}, kind="dggan", history=cand.history)
        return self.config.copy(growth=growth)

    def _train(self, cand: Candidate, parent: Candidate | None, pb=None) -> Candidate:
        """Train `cand` from its parent's checkpoint, score it, save it (pb: a progress bar to
        annotate with the phase)."""
        t0 = time.time()
        config = self._config_for(cand)
        state = None
        if parent is not None:
            ckpt_path = self._cand_dir(parent.id) / "checkpoint.pt"
            state = restore_state(load_checkpoint(ckpt_path), config, "cpu", ckpt_path)
        until = cand.images_seen + kimg_to_images(self.cfg.candidate_kimg)
        with torch.random.fork_rng(devices=[]):  # new layers' init: a function of the candidate alone
            torch.manual_seed(zlib.crc32(f"{self.cfg.seed}/{cand.id}".encode()))
            state = self.train_fn(config, self.archive, state, until)
        cand.images_seen = int(state.images_seen)
        cand.spec = settle(spec_at(config.network, self.growth_cfg_for(cand), cand.images_seen)[0])
        if pb is not None:
            pb.set_postfix_str(f"{cand.id}: scoring ({self.cfg.metric}, {self.cfg.eval_images} images)")
        cand.scores = {k: float(v) for k, v in self.score_fn(state.G_ema, self.archive, self.cfg).items()}
        cand.score = cand.scores.get(self.cfg.metric.replace("-", "_"))
        cand.wall_s = round(time.time() - t0, 3)
        cand.rank = self.rank
        save_checkpoint(self._cand_dir(cand.id) / "checkpoint.pt", state, config, {"candidate": cand.id})
        atomic_write_json(self._cand_dir(cand.id) / "result.json", asdict(cand))  # now it counts
        return cand

    def growth_cfg_for(self, cand: Candidate) -> DGGrowthConfig:
        return DGGrowthConfig(fade_kimg=self.growth_cfg.fade_kimg, history=cand.history,
                              batch_sizes=self.growth_cfg.batch_sizes)

    def _run_step(self, step: int, todo: list[tuple[Candidate, Candidate | None]]) -> list[Candidate]:
        """Train this rank's share of the unfinished candidates; return all of them, finished."""
        mine = [(c, p) for i, (c, p) in enumerate(todo) if i % self.world == self.rank and self._load_result(c.id) is None]
        with bar(total=len(mine), desc=f"step {step} candidates", unit="cand", disable=self.rank != 0) as pb:
            for cand, parent in mine:
                self.log(f"step {step}: training {cand.id} = {action_name(cand.action) if cand.action else 'start'}"
                         f" from {cand.parent} ({self.cfg.candidate_kimg:g} kimg)")
                pb.set_postfix_str(cand.id)
                self._train(cand, parent, pb)
                pb.update()
        _barrier()
        done = []
        for cand, _ in todo:
            res = self._load_result(cand.id)
            if res is None:
                raise GrowganError(f"{self._cand_dir(cand.id)}: candidate has no result after its step; rerun with --resume")
            done.append(res)
        return done

    def _log_candidates(self, cands: list[Candidate]) -> None:
        logged = {r["id"] for r in self._rows() if r.get("type") == "candidate"}
        for c in cands:
            if c.id not in logged:
                row = {"type": "candidate", "id": c.id, "parent": c.parent, "step": c.step,
                       "action": action_name(c.action) if c.action else "start", "spec": c.spec,
                       "arch": describe(c.spec), "kimg": c.images_seen / 1000.0, "score": c.score,
                       "scores": c.scores, "wall_s": c.wall_s, "rank": c.rank}
                self._write_row(row)
                self.log(f"  {c.id}: {row['action']:<18} {self.cfg.metric}={c.score}  {row['arch']}")

    def _done(self, survivors: list[Candidate], step: int) -> bool:
        if step >= self.cfg.max_steps:
            return True
        at_target = all(spec_resolution(c.spec)[0] >= self.cfg.target_resolution for c in survivors)
        return at_target and min(c.images_seen for c in survivors) >= kimg_to_images(self.cfg.search_kimg)

    def run(self) -> Candidate:
        """Search (resuming whatever the run folder already holds); returns the best."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        steps = {r["step"]: r for r in self._rows() if r.get("type") == "step"}
        root = Candidate(id="root", parent=None, step=0, action=None, history=[])
        survivors = self._finish_step(0, [(root, None)], [], steps)
        step = 0
        while not self._done(survivors, step):
            step += 1
            children = []
            for parent in survivors:
                for action in propose(parent, step, self.cfg):
                    children.append((make_child(parent, action, step, len(children)), parent))
            if not children:
                break
            survivors = self._finish_step(step, children, survivors, steps)
        best = survivors[0]
        if self.rank == 0:
            atomic_write_json(self.run_dir / "best_spec.json", best.spec)
            atomic_write_json(self.run_dir / "best.json", asdict(best))
            draw_tree(self.run_dir)
            if self.config.report:
                RunReporter()(self.run_dir, None, True)  # report.html with the tree (a failure only warns)
        _barrier()
        return best

    def train_final(self, best: Candidate, verbose: bool = True) -> dict[str, float] | None:
        """Train `best` on to ``final_kimg`` in the run folder (resumable from its own
        checkpoints; rank 0 alone), then score G_ema with the selection metric into
        final.json. Returns the scores, or None when a signal stopped the training (a
        checkpoint was saved; ``growgan search --resume`` continues)."""
        config = self._config_for(best)
        resume = None
        if list_checkpoints(self.run_dir):
            path, ckpt = latest_checkpoint(self.run_dir)
            state, resume = restore_state(ckpt, config, "cpu", path), ckpt["extra"]
            self.log(f"resuming the final training from {path.name}")
        else:
            path = self._cand_dir(best.id) / "checkpoint.pt"
            state = restore_state(load_checkpoint(path), config, "cpu", path)
        write_config(self.run_dir, config)
        trainer = build_trainer(config, self.archive, state=state, run_dir=self.run_dir, verbose=verbose,
                                handle_signals=True, resume=resume, dist=dist_utils.DistInfo())
        if trainer.train_until(max(kimg_to_images(self.cfg.final_kimg), state.images_seen)) != "done":
            return None
        if not list_checkpoints(self.run_dir):  # already past the target: still leave a model behind
            trainer.save_grids()
            trainer.save_checkpoint()
        scores = self.score_fn(trainer.state.G_ema, self.archive, self.cfg)
        atomic_write_json(self.run_dir / "final.json", {"candidate": best.id, "images_seen": trainer.state.images_seen,
                                                        "spec": best.spec, "scores": scores})
        return scores

    def _finish_step(self, step: int, todo, parents: list[Candidate], steps: dict) -> list[Candidate]:
        cands = self._run_step(step, todo)
        by_id = {c.id: c for c in cands + parents}
        if step in steps:  # resumed: the recorded survivors stand
            return [by_id[i] for i in steps[step]["survivors"]]
        survivors = select(cands, parents, self.cfg) if step > 0 else cands
        if self.rank == 0:
            self._log_candidates(cands)
            self._write_row({"type": "step", "step": step, "survivors": [c.id for c in survivors],
                             "scores": [c.score for c in survivors]})
            self.log(f"step {step}: kept {', '.join(c.id for c in survivors)}")
        _barrier()
        return survivors


def _barrier() -> None:
    dist_utils.barrier()


# --------------------------------------------------------------------------- engine adapters
def engine_train(config, archive: Path, state, until: int):
    """Train with the growgan engine from `state` (None: fresh) until `until` images seen,
    in this process alone, without a run folder: under torchrun the search gives each rank
    its own candidates, so no gradients may be averaged across ranks (DistInfo() = rank 0 of 1)."""
    trainer = build_trainer(config, archive, state=state, run_dir=None, verbose=False, dist=dist_utils.DistInfo())
    trainer.train_until(until)
    return trainer.state


class _FullResolution(nn.Module):
    """Wraps G so its images are nearest-upsampled to the target size: candidates at
    different resolutions are scored on the same footing (a low-res G is blurrier)."""

    def __init__(self, G: nn.Module, size: tuple[int, int]):
        super().__init__()
        self.G, self.size = G, size
        self.z_dim, self.c_dim, self.img_channels = G.z_dim, G.c_dim, G.img_channels
        self.img_resolution = size

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        img = self.G(z, c)  # [N, C, h, w] -> [N, C, H, W]
        return img if tuple(img.shape[-2:]) == self.size else F.interpolate(img, size=self.size, mode="nearest")


def engine_score(G, archive: Path, cfg: SearchConfig) -> dict[str, float]:
    """Selection metric with a fixed seed and sample count, at the archive's resolution."""
    size = tuple(open_archive(archive).resolution)
    return evaluate_generator(_FullResolution(G, size), archive, [cfg.metric], cfg.eval_images, seed=cfg.eval_seed,
                              classifier=cfg.classifier, inception_weights=cfg.inception_weights)
