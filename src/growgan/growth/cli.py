"""`growgan search`: the Dynamically Grown GAN architecture search (Liu et al., AAAI 2021)
end to end: search (top-K greedy pruning), then train the best architecture on to the end,
in one run folder that `growgan generate` and `growgan metrics` read like any other.

    growgan search --preset dggan-mnist-32 --data ARCHIVE [--out runs] [--resume RUN_DIR]
    torchrun --nproc_per_node 2 -m growgan search ...   # each rank trains its share of children
"""

from __future__ import annotations

import json
from pathlib import Path

from growgan.errors import GrowganError
from growgan.utils.threads import add_threads_argument

SEARCH_CONFIG = "search_config.json"


def register(subparsers) -> None:
    """Add `growgan search` to the `growgan` parser."""
    p = subparsers.add_parser("search", help="DGGAN: grow G and D by architecture search, then train the best")
    p.add_argument("--preset", help="dggan-mnist-32 (CPU-sized) or dggan-cifar10 (paper-sized)")
    p.add_argument("--data", help="archive folder (growgan dataset prepare) or 'builtin'")
    p.add_argument("--out", default="runs", help="parent folder of run folders (default: runs)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a killed search; finished candidates are kept")
    p.add_argument("--config", help="JSON or YAML file of config keys (applied after the preset)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set growth.search.K=4 (repeatable)")
    p.add_argument("--seed", type=int, help="random seed of the search and of training")
    p.add_argument("--name", help="run name (default: the preset's)")
    p.add_argument("--quiet", action="store_true", help="no console log")
    add_threads_argument(p)
    p.set_defaults(func=run_search)


def _resolve_config(args):
    from growgan.training.config import TrainConfig, apply_overrides, load_config_file
    from growgan.training.presets import get_preset

    if args.resume:
        path = Path(args.resume) / SEARCH_CONFIG
        if not path.is_file():
            raise GrowganError(f"{path}: not found; --resume needs a folder written by growgan search")
        return TrainConfig.from_dict(json.loads(path.read_text(encoding="utf-8")), source=str(path))
    if not args.preset and not args.config:
        raise GrowganError("growgan search needs --preset (dggan-mnist-32, dggan-cifar10) or --config FILE")
    config = get_preset(args.preset) if args.preset else TrainConfig()
    if args.config:
        config = load_config_file(args.config, base=config)
    if args.overrides:
        config = apply_overrides(config, args.overrides)
    if args.seed is not None:  # the seed of the search (proposals, new layers) and of training
        growth = dict(config.growth or {})
        growth["search"] = {**(growth.get("search") or {}), "seed": args.seed}
        config = config.copy(seed=args.seed, growth=growth)
    if args.name:
        config = config.copy(name=args.name)
    if (config.growth or {}).get("kind") != "dggan" or config.network.get("family") != "dggan":
        raise GrowganError(f"preset/config {args.preset or args.config}: growgan search needs a dggan network and growth kind 'dggan'")
    return config


def _archive_path(args, config) -> Path:
    from growgan.data import resolve_archive

    if args.data:
        return Path(resolve_archive(args.data))
    if args.resume:
        saved = config.growth.get("search_data")
        if saved:
            return Path(saved)
    raise GrowganError("growgan search needs --data ARCHIVE (a folder from growgan dataset prepare, or 'builtin')")


def _run_dir(args, config, info) -> Path:
    from growgan.training import distributed as dist_utils
    from growgan.training.rundir import new_run_dir

    if args.resume:
        return Path(args.resume)
    run_dir = new_run_dir(args.out, config.name) if info.is_main else None
    return Path(dist_utils.gather_objects(str(run_dir) if run_dir else None)[0])


def run_search(args) -> int:
    from growgan.data import open_archive
    from growgan.growth.search import Search
    from growgan.training import distributed as dist_utils
    from growgan.training.loop import resolve_network
    from growgan.utils.io import atomic_write_json

    info = dist_utils.init_from_env("cpu")
    config = _resolve_config(args)
    archive = _archive_path(args, config)
    config = config.copy(network=resolve_network(config.network, open_archive(archive)),
                         growth=dict(config.growth, search_data=str(archive)))
    run_dir = _run_dir(args, config, info)
    if args.resume and (run_dir / "final.json").is_file():
        final = json.loads((run_dir / "final.json").read_text(encoding="utf-8"))
        print(f"{run_dir}: nothing to do: the search and the final training are finished (best {final.get('candidate')}, "
              f"{final.get('images_seen', 0) / 1000:g} kimg; scores in final.json)")
        return 0
    log = (lambda s: None) if args.quiet else _echo
    if info.is_main:
        atomic_write_json(run_dir / SEARCH_CONFIG, config.to_dict())
        log(f"search in {run_dir} ({info.world_size} process(es))")
    search = Search(config, archive, run_dir, rank=info.rank, world_size=info.world_size, log=log)
    best = search.run()
    if info.enabled:  # the final training is rank 0's alone; its checkpoints must not wait on other ranks
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    if info.is_main:
        log(f"best: {best.id} score {best.score} -> {run_dir / 'best_spec.json'}; training it on")
        train_final(search, best, log, quiet=args.quiet)
        log(f"done: {run_dir} (growgan generate {run_dir} --out grid.png)")
    return 0


def _echo(text: str) -> None:
    """Print a line without breaking a progress bar on screen."""
    from tqdm import tqdm

    tqdm.write(text)


def train_final(search, best, log, quiet: bool = False) -> None:
    """Train the best candidate on to `final_kimg` in the search's run folder (resumable from
    its own checkpoints), then score it with the selection metric into final.json."""
    from growgan.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, restore_state
    from growgan.training.loop import Trainer
    from growgan.training.rundir import write_config
    from growgan.utils.io import atomic_write_json

    run_dir = search.run_dir
    config = search._config_for(best)
    config = config.copy(growth={k: v for k, v in config.growth.items() if k != "search_data"})
    resume = None
    if list_checkpoints(run_dir):
        path, ckpt = latest_checkpoint(run_dir)
        state, resume = restore_state(ckpt, config, "cpu", path), ckpt["extra"]
        log(f"resuming the final training from {path.name}")
    else:
        path = search._cand_dir(best.id) / "checkpoint.pt"
        state = restore_state(load_checkpoint(path), config, "cpu", path)
    write_config(run_dir, config)
    from growgan.training.distributed import DistInfo

    trainer = Trainer(config, search.archive, state=state, run_dir=run_dir, verbose=not quiet,
                      handle_signals=True, resume=resume, dist=DistInfo())  # rank 0 alone trains the best
    target = int(round(search.cfg.final_kimg * 1000))
    if trainer.train_until(max(target, state.images_seen)) != "done":
        raise KeyboardInterrupt
    if not list_checkpoints(run_dir):  # already past the target: still leave a model behind
        trainer.save_grids()
        trainer.save_checkpoint()
    from growgan.growth.search import engine_score

    scores = engine_score(trainer.state.G_ema, search.archive, search.cfg)
    atomic_write_json(run_dir / "final.json", {"candidate": best.id, "images_seen": trainer.state.images_seen,
                                               "spec": best.spec, "scores": scores})
    log("final " + " ".join(f"{k}={v:.4g}" for k, v in scores.items()))
