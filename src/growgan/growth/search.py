"""DGGAN architecture search by top-K greedy pruning (Liu et al., AAAI 2021, arXiv 2106.08505).

Training alternates with growing. Step 0 trains one starting net per root width. Every
growing step, each of the K kept architectures proposes children: "keep" (itself, trained
on without growth) and actions of the action space (``G+conv(k, w)``, ``D+conv(k, w)``,
``grow-resolution`` with a new stage of width w) each sampled with probability p. Each
child starts from its parent's full training state (weights, EMA, optimizer moments, data
stream position and RNG states), fades its new layer in for ``growth.fade_kimg``, trains
``settle_kimg`` more at full weight, and is scored by a selection metric (SWD by default,
or fid-classifier, ...) on two evaluation seeds (mean and spread recorded); the best K
children survive. Resolution growth is one of the actions, chosen by the score; the budget
is ``max_steps`` growing steps, and when the steps left are only enough for the remaining
resolution doublings, only growing the resolution is offered. Then the best trains on to
``final_kimg``. Every candidate records its training FLOPs (growgan.training.flops) and its
single-process training and evaluation seconds.

Files (run folder): ``search.jsonl`` (one row per candidate, one per step with its
survivors), ``candidates/<id>/checkpoint.pt`` + ``result.json`` (each written atomically;
a candidate counts as finished only once its result exists, so a killed search resumes
without retraining anything finished), ``tree.png`` / ``tree.html``, ``best_spec.json``,
``final.json`` (the final model's scores, FLOPs of the search and of the final training),
and the final model's ``checkpoints/``, ``grids/``, ``stats.jsonl`` (a normal run folder).
Under torchrun, each rank trains its share of a step's children; rank 0 writes the logs.
"""

from __future__ import annotations

import copy
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
from growgan.growth.tree import draw_tree, read_search_log
from growgan.metrics import evaluate_generator
from growgan.training import distributed as dist_utils
from growgan.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, restore_state, save_checkpoint
from growgan.training.growth_config import DGGrowthConfig, SearchConfig
from growgan.training.report import RunReporter
from growgan.training.loop import default_device
from growgan.training.rundir import write_config
from growgan.utils.device import check_device, fork_rng
from growgan.utils.units import kimg_to_images
from growgan.utils.io import append_jsonl, atomic_write_json
from growgan.utils.progress import bar


@dataclass
class Candidate:
    """One architecture with its training history; stored as result.json.

    flops / train_s: this candidate's own training (from its parent's state to its own);
    lineage_flops: the training FLOPs of its whole line from scratch (what its net cost)."""

    id: str
    parent: str | None
    step: int
    action: dict[str, Any] | None  # None for a root
    history: list[dict[str, Any]]  # replayable growth history (actions with "at")
    start: dict = field(default_factory=dict)  # the root's network spec the history applies to
    images_seen: int = 0
    score: float | None = None  # mean of the selection metric over the evaluation seeds
    score_std: float | None = None  # sample std of it over the evaluation seeds
    score_by_seed: list[float] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)  # every metric key, mean over seeds
    flops: int = 0
    lineage_flops: int = 0
    train_s: float = 0.0
    lineage_train_s: float = 0.0
    eval_s: float = 0.0
    wall_s: float = 0.0
    spec: dict = field(default_factory=dict)
    rank: int = 0  # the process that trained it

    @property
    def sort_key(self) -> float:
        s = self.score
        return math.inf if s is None or not math.isfinite(s) else s


# --------------------------------------------------------------------------- proposals
def doublings_left(spec: dict, cfg: SearchConfig) -> int:
    """How many grow-resolution steps separate `spec` from the target resolution."""
    res, n = spec_resolution(spec)[0], 0
    while res < cfg.target_resolution:
        res, n = res * 2, n + 1
    return n


def action_space(spec: dict, cfg: SearchConfig) -> list[dict[str, Any]]:
    """Every growing action allowed from `spec` (settled): a conv layer of each kernel and
    width appended to G's or inserted at D's input in the top stage (while it has fewer than
    max_layers_per_stage layers), and a new resolution with one 3x3 layer per net of each
    width (G and D the same width; k = 3 as ProGAN's). "keep" is not in it: every parent
    always gets a keep child besides (see `propose`)."""
    actions: list[dict[str, Any]] = []
    for net, op in (("G", "G+conv"), ("D", "D+conv")):
        if len(spec[net]["stages"][-1]) < cfg.max_layers_per_stage:
            actions += [{"op": op, "k": k, "w": w} for k in cfg.kernels for w in cfg.widths]
    if doublings_left(spec, cfg) > 0:
        actions += [{"op": "grow-resolution", "k": 3, "g_w": w, "d_w": w} for w in cfg.widths]
    return actions


def propose(parent: Candidate, step: int, cfg: SearchConfig) -> list[dict[str, Any]]:
    """The actions `parent` tries at `step` (1-based): "keep" (the parent trained on without
    growth) plus each action of the space sampled with probability p (at least one), at most
    max_children of them. Deterministic in (seed, step, parent id), so a resumed search
    proposes the same children. When the steps left (this one included) are only enough for
    the resolution doublings still needed, only grow-resolution actions are offered and no
    keep: the budget ends every surviving line at the target resolution."""
    rng = random.Random(f"{cfg.seed}/{step}/{parent.id}")
    space = action_space(parent.spec, cfg)
    must_grow = doublings_left(parent.spec, cfg) >= cfg.max_steps - step + 1
    if must_grow:
        space = [a for a in space if a["op"] == "grow-resolution"]
    picked = [a for a in space if rng.random() < cfg.p] or ([rng.choice(space)] if space else [])
    if cfg.max_children and len(picked) > cfg.max_children:
        picked = rng.sample(picked, cfg.max_children)
    return picked if must_grow else [{"op": "keep"}] + picked


def make_child(parent: Candidate, action: dict, step: int, index: int) -> Candidate:
    """A child of `parent`: its history gains `action` at the parent's image count ("keep"
    adds nothing)."""
    grows = action["op"] != "keep"
    return Candidate(
        id=f"s{step}c{index}",
        parent=parent.id,
        step=step,
        action=dict(action),
        history=parent.history + ([dict(action, at=parent.images_seen)] if grows else []),
        start=copy.deepcopy(parent.start),
        images_seen=parent.images_seen,
    )


def select(children: list[Candidate], cfg: SearchConfig) -> list[Candidate]:
    """Top-K greedy pruning: the K best by score (lower is better; a missing or non-finite
    score loses), ties by id. The keep children stand for the parents."""
    return sorted(children, key=lambda c: (c.sort_key, c.id))[: cfg.K]


def progan_path(widths: list[int], layers_per_stage: int = 2) -> tuple[int, list[dict[str, Any]]]:
    """(root width, actions) that grow a root of one 3x3 layer into Progressive GAN's layer
    layout from the first resolution on: per stage `layers_per_stage` 3x3 convs of
    ``widths[stage]`` channels in G and in D (ProGAN: two per stage, nf(stage) wide). Used to
    check that the search space contains ProGAN (tests, benchmarks)."""
    actions: list[dict[str, Any]] = []
    for i, w in enumerate(widths):
        if i > 0:
            actions.append({"op": "grow-resolution", "k": 3, "g_w": w, "d_w": w})
        for _ in range(layers_per_stage - 1):
            actions += [{"op": "G+conv", "k": 3, "w": w}, {"op": "D+conv", "k": 3, "w": w}]
    return widths[0], actions


# --------------------------------------------------------------------------- the search
# (config, archive, state or None, until images, resume extra or None) -> (state, resume extra)
TrainFn = Callable[[Any, Any, Any, int, Any], tuple[Any, dict]]
ScoreFn = Callable[[Any, Path, "SearchConfig", int], dict[str, float]]  # (G, archive, cfg, eval seed)


# Metrics whose larger values are better: top-K pruning keeps the lowest scores, so these cannot select.
HIGHER_IS_BETTER = frozenset({"is", "pr", "class-accuracy", "ms-ssim-paired"})


class Search:
    """Runs (or resumes) a search in `run_dir`. `train_fn` and `score_fn` default to the
    training engine and `growgan.metrics.evaluate_generator`; tests may pass small ones.

    Continuity: a child starts from its parent's checkpoint *and* its resume extra (data
    loader position, latent generator, global RNG, FLOPs so far), so it trains on the
    batches that follow its parent's last; siblings share those batches (common random
    numbers), and no line of the tree sees an image twice before the dataset runs out. The
    final continuation starts from the best candidate's checkpoint and extra the same way."""

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
        if score_fn is None and self.cfg.metric.replace("_", "-") in HIGHER_IS_BETTER:
            raise GrowganError(f"growth.search.metric={self.cfg.metric}: higher is better for this metric, but the "
                               "search keeps the lowest scores; use swd, fid-classifier, kid-classifier, fid or kid")
        self.rank, self.world = rank, world_size
        self.log = log if rank == 0 else (lambda s: None)

    @property
    def candidate_images(self) -> int:
        """Images each candidate trains: its fade-in (growth.fade_kimg) then settle_kimg."""
        return int(round((self.growth_cfg.fade_kimg + self.cfg.settle_kimg) * 1000))

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
        return self.config.copy(network=copy.deepcopy(cand.start), growth=growth)

    def _roots(self) -> list[Candidate]:
        """Step 0: one starting net per root width, shaped like config.network (its G input
        and D head as wide as its layer)."""
        base = self.config.network
        roots = []
        for i, w in enumerate(self.cfg.root_widths):
            start = copy.deepcopy(base)
            k = int(base["G"]["stages"][0][0]["k"])
            start["G"]["stages"] = [[{"k": k, "w": int(w)}]]
            start["D"]["stages"] = [[{"k": k, "w": int(w)}]]
            start["D"]["head_width"] = int(w)
            roots.append(Candidate(id=f"s0c{i}", parent=None, step=0, action=None, history=[], start=start))
        return roots

    def _train(self, cand: Candidate, parent: Candidate | None, pb=None) -> Candidate:
        """Train `cand` from its parent's full state (or from scratch), score it, save it (pb:
        a progress bar to annotate with the phase)."""
        t0 = time.time()
        config = self._config_for(cand)
        state, resume, before = None, None, {"flops": 0, "train_s": 0.0}
        if parent is not None:
            ckpt_path = self._cand_dir(parent.id) / "checkpoint.pt"
            ckpt = load_checkpoint(ckpt_path)
            state, resume = restore_state(ckpt, config, search_device(config), ckpt_path), ckpt["extra"]
            before = {"flops": int(resume.get("flops", 0)), "train_s": float(resume.get("train_s", 0.0))}
        until = cand.images_seen + self.candidate_images
        with fork_rng(search_device(config)):  # the resumed global RNG stays inside the candidate
            # a function of the candidate alone; the engine then restores the parent's RNG states
            torch.manual_seed(zlib.crc32(f"{self.cfg.seed}/{cand.id}".encode()))
            state, extra = self.train_fn(config, self.archive, state, until, resume)
        t1 = time.time()
        cand.images_seen = int(state.images_seen)
        cand.spec = settle(spec_at(config.network, self.growth_cfg_for(cand), cand.images_seen)[0])
        if pb is not None:
            pb.set_postfix_str(f"{cand.id}: scoring ({self.cfg.metric}, {len(self.cfg.eval_seeds)} x {self.cfg.eval_images} images)")
        runs = [self.score_fn(state.G_ema, self.archive, self.cfg, seed) for seed in self.cfg.eval_seeds]
        key = self.cfg.metric.replace("-", "_")
        cand.scores = {k: float(sum(r[k] for r in runs) / len(runs)) for k in runs[0]}
        cand.score_by_seed = [float(r[key]) for r in runs if key in r]
        cand.score = cand.scores.get(key)
        cand.score_std = _std(cand.score_by_seed)
        cand.lineage_flops = int(extra.get("flops", 0))
        cand.flops = cand.lineage_flops - before["flops"]
        cand.lineage_train_s = float(extra.get("train_s", 0.0))
        cand.train_s = round(cand.lineage_train_s - before["train_s"], 3)
        cand.eval_s = round(time.time() - t1, 3)
        cand.wall_s = round(time.time() - t0, 3)
        cand.rank = self.rank
        save_checkpoint(self._cand_dir(cand.id) / "checkpoint.pt", state, config, extra)
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
                what = action_name(cand.action) if cand.action else f"start w{cand.start['G']['stages'][0][0]['w']}"
                self.log(f"step {step}: training {cand.id} = {what} from {cand.parent} "
                         f"({self.candidate_images / 1000:g} kimg)")
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
                action = action_name(c.action) if c.action else f"start({c.start['G']['stages'][0][0]['w']})"
                row = {"type": "candidate", "id": c.id, "parent": c.parent, "step": c.step, "action": action,
                       "spec": c.spec, "arch": describe(c.spec), "kimg": c.images_seen / 1000.0, "score": c.score,
                       "score_std": c.score_std, "score_by_seed": c.score_by_seed, "scores": c.scores,
                       "flops": c.flops, "lineage_flops": c.lineage_flops, "train_s": c.train_s,
                       "eval_s": c.eval_s, "wall_s": c.wall_s, "rank": c.rank}
                self._write_row(row)
                std = f" ± {c.score_std:.3g}" if c.score_std is not None else ""
                self.log(f"  {c.id}: {action:<16} {self.cfg.metric}={_fmt(c.score)}{std}  "
                         f"{c.flops / 1e12:.3f} TFLOP {c.train_s:.0f}+{c.eval_s:.0f} s  {row['arch']}")

    def _done(self, step: int) -> bool:
        return step >= self.cfg.max_steps

    def run(self) -> Candidate:
        """Search (resuming whatever the run folder already holds); returns the best."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        steps = {r["step"]: r for r in self._rows() if r.get("type") == "step"}
        survivors = self._finish_step(0, [(r, None) for r in self._roots()], steps)
        step = 0
        while not self._done(step):
            step += 1
            children = []
            for parent in survivors:
                for action in propose(parent, step, self.cfg):
                    children.append((make_child(parent, action, step, len(children)), parent))
            survivors = self._finish_step(step, children, steps)
        best = survivors[0]
        if self.rank == 0:
            atomic_write_json(self.run_dir / "best_spec.json", best.spec)
            atomic_write_json(self.run_dir / "best.json", asdict(best))
            draw_tree(self.run_dir)
            cands, _ = _read_candidates(self.run_dir)
            self.log(f"search: {len(cands)} candidates, {sum(c['flops'] for c in cands) / 1e12:.2f} TFLOP of training, "
                     f"{sum(c['wall_s'] for c in cands):.0f} s")
            if self.config.report:
                RunReporter()(self.run_dir, None, True)  # report.html with the tree (a failure only warns)
        _barrier()
        return best

    def _finish_step(self, step: int, todo, steps: dict) -> list[Candidate]:
        cands = self._run_step(step, todo)
        by_id = {c.id: c for c in cands}
        if step in steps:  # resumed: the recorded survivors stand
            return [by_id[i] for i in steps[step]["survivors"]]
        survivors = select(cands, self.cfg)
        if self.rank == 0:
            self._log_candidates(cands)
            self._write_row({"type": "step", "step": step, "survivors": [c.id for c in survivors],
                             "scores": [c.score for c in survivors]})
            self.log(f"step {step}: kept {', '.join(c.id for c in survivors)}")
        _barrier()
        return survivors

    # -- the final continuation
    def train_final(self, best: Candidate, verbose: bool = True) -> dict | None:
        """Train `best` on to ``final_kimg`` images seen in the run folder (rank 0 alone), from
        its checkpoint *and* resume extra, so the data stream and RNG states continue (and
        resumable from the run's own checkpoints); then score G_ema on the evaluation seeds.
        Writes and returns final.json: scores, the search's and the final training's FLOPs
        and seconds. None when a signal stopped the training (a checkpoint was saved;
        ``growgan search --resume`` continues)."""
        config = self._config_for(best)
        if list_checkpoints(self.run_dir):
            path, ckpt = latest_checkpoint(self.run_dir)
            self.log(f"resuming the final training from {path.name}")
        else:
            path = self._cand_dir(best.id) / "checkpoint.pt"
            ckpt = load_checkpoint(path)
        device = search_device(config)
        state, resume = restore_state(ckpt, config, device, path), ckpt["extra"]
        write_config(self.run_dir, config)
        trainer = build_trainer(config, self.archive, state=state, run_dir=self.run_dir, verbose=verbose,
                                handle_signals=True, resume=resume, dist=dist_utils.DistInfo(), device=device)
        if trainer.train_until(max(kimg_to_images(self.cfg.final_kimg), state.images_seen)) != "done":
            return None
        if not list_checkpoints(self.run_dir):  # already past the target: still leave a model behind
            trainer.save_grids()
            trainer.save_checkpoint()
        runs = [self.score_fn(trainer.state.G_ema, self.archive, self.cfg, seed) for seed in self.cfg.eval_seeds]
        scores = {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}
        cands, _ = _read_candidates(self.run_dir)
        final_flops = trainer.flops - best.lineage_flops
        final_s = trainer.train_s - best.lineage_train_s
        out = {"candidate": best.id, "images_seen": trainer.state.images_seen, "spec": best.spec, "scores": scores,
               "lineage_flops": int(trainer.flops), "final_flops": int(final_flops),
               "search_flops": int(sum(c["flops"] for c in cands)),
               "total_flops": int(sum(c["flops"] for c in cands) + final_flops),
               "search_images": int(sum(c["kimg"] * 1000 - _parent_kimg(c, cands) * 1000 for c in cands)),
               "search_wall_s": float(sum(c["wall_s"] for c in cands)), "final_train_s": float(final_s),
               "total_wall_s": float(sum(c["wall_s"] for c in cands) + final_s)}
        atomic_write_json(self.run_dir / "final.json", out)
        self.log(f"final: total {out['total_flops'] / 1e12:.2f} TFLOP of training (search {out['search_flops'] / 1e12:.2f}), "
                 f"{out['total_wall_s']:.0f} s")
        return out


def _read_candidates(run_dir: Path) -> tuple[list[dict], list[dict]]:
    return read_search_log(run_dir)


def _parent_kimg(c: dict, cands: list[dict]) -> float:
    by_id = {x["id"]: x for x in cands}
    return by_id[c["parent"]]["kimg"] if c["parent"] in by_id else 0.0


def _std(values: list[float]) -> float | None:
    """Sample standard deviation, None for fewer than two values."""
    if len(values) < 2:
        return None
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def _barrier() -> None:
    dist_utils.barrier()


# --------------------------------------------------------------------------- engine adapters
def search_device(config) -> torch.device:
    """The device this process trains and scores candidates on: config.device, with auto and
    cuda meaning this rank's GPU (cuda:LOCAL_RANK under torchrun). A fixed cuda:N is taken as
    given on every rank (the search's ranks share no gradients, so they may share a GPU).
    Candidates are restored from their parents' checkpoints onto it: the trainer refuses a
    state on another device."""
    name = str(config.device)
    if name.startswith("cuda:"):
        return check_device(name, "device")
    return default_device(name, dist_utils.current())


def engine_train(config, archive: Path, state, until: int, resume: dict | None = None):
    """Train with the growgan engine from `state` (None: fresh) and its checkpoint's `resume`
    extra until `until` images seen, in this process alone, without a run folder: under
    torchrun the search gives each rank its own candidates, so no gradients may be averaged
    across ranks (DistInfo() = rank 0 of 1). Returns (state, resume extra)."""
    trainer = build_trainer(config, archive, state=state, run_dir=None, verbose=False, dist=dist_utils.DistInfo(),
                            resume=resume, device=search_device(config))
    trainer.train_until(until)
    return trainer.state, trainer.resume_extra()


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


def engine_score(G, archive: Path, cfg: SearchConfig, seed: int | None = None) -> dict[str, float]:
    """The selection metric of `cfg.eval_images` images of latent seed `seed` (default: the
    first evaluation seed), at the archive's resolution (lower-resolution G upsampled)."""
    seed = cfg.eval_seeds[0] if seed is None else seed
    size = tuple(open_archive(archive).resolution)
    device = next(G.parameters()).device  # generate and extract features where G is (a GPU during a CUDA search)
    return evaluate_generator(_FullResolution(G, size), archive, [cfg.metric], cfg.eval_images, seed=seed, device=device,
                              classifier=cfg.classifier, inception_weights=cfg.inception_weights)
