"""`growgan search`: the Dynamically Grown GAN architecture search (Liu et al., AAAI 2021)
end to end: search (top-K greedy pruning), then train the best architecture on to the end,
in one run folder that `growgan generate` and `growgan metrics` read like any other.

    growgan search --preset dggan-mnist-32 --data ARCHIVE [--out runs] [--resume RUN_DIR]
    torchrun --nproc_per_node 2 -m growgan search ...   # each rank trains its share of children
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from growgan.errors import GrowganError
from growgan.utils.threads import add_threads_argument

if TYPE_CHECKING:
    from growgan.training.config import TrainConfig

# The library (torch, numba, ...) is imported inside the functions that run the command, so
# that building the parser for `growgan --help` / `--version` stays fast (tests/test_cli_imports.py).

SEARCH_CONFIG = "search_config.json"
RUN_INFO = "run.json"  # {"data": archive path, "command": ...}: runtime facts, not config


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
    p.add_argument("--quiet", action="store_true", help="no console log or progress bars")
    add_threads_argument(p)
    p.set_defaults(func=run_search)


def _read_saved(run_dir: Path) -> tuple[TrainConfig, dict]:
    """A search folder's config and run info. Folders written before run.json existed kept the
    archive as growth.search_data inside the config: it is moved out here."""
    from growgan.training.config import TrainConfig
    from growgan.training.rundir import read_run_info

    path = run_dir / SEARCH_CONFIG
    if not path.is_file():
        raise GrowganError(f"{path}: not found; --resume needs a folder written by growgan search")
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise GrowganError(f"{path}: damaged, not valid JSON ({str(exc)[:80]}); restore it or start a new search") from None
    if not isinstance(saved, dict):
        raise GrowganError(f"{path}: damaged, not a JSON object; restore it or start a new search")
    info = read_run_info(run_dir)
    if isinstance(saved, dict) and isinstance(saved.get("growth"), dict) and "search_data" in saved["growth"]:
        info.setdefault("data", saved["growth"].pop("search_data"))
    return TrainConfig.from_dict(saved, source=str(path)), info


def _resolve_config(args) -> tuple[TrainConfig, dict]:
    """-> (config, saved run info: {} for a new search)."""
    if args.resume:
        return _read_saved(Path(args.resume))
    if not args.preset and not args.config:
        raise GrowganError("growgan search needs --preset (dggan-mnist-32, dggan-cifar10) or --config FILE")
    from growgan.training.resolve import resolve_config

    config = resolve_config(preset=args.preset, config_file=args.config, overrides=args.overrides, seed=args.seed,
                            name=args.name)
    if (config.growth or {}).get("kind") != "dggan" or config.network.get("family") != "dggan":
        raise GrowganError(f"preset/config {args.preset or args.config}: growgan search needs a dggan network and growth kind 'dggan'")
    return config, {}


def _archive_path(args, info: dict) -> Path:
    from growgan.data import resolve_archive

    if args.data:
        return Path(resolve_archive(args.data))
    if info.get("data"):
        return Path(info["data"])
    raise GrowganError("growgan search needs --data ARCHIVE (a folder from growgan dataset prepare, or 'builtin')")


def _run_dir(args, config, info) -> Path:
    from growgan.training import distributed as dist_utils
    from growgan.training.rundir import new_run_dir

    if args.resume:
        return Path(args.resume)
    return Path(str(dist_utils.on_main(new_run_dir, args.out, config.name)))


def run_search(args) -> int:
    import torch.distributed

    from growgan.data import open_archive
    from growgan.growth.search import Search
    from growgan.training import distributed as dist_utils
    from growgan.training.loop import resolve_network
    from growgan.training.rundir import check_out_dir, discard_unstarted_run, locked
    from growgan.utils.io import atomic_write_json, check_writable_dir

    dist = dist_utils.init_from_env("cpu")
    config, info = _resolve_config(args)
    archive = _archive_path(args, info)
    config = config.copy(network=resolve_network(config.network, open_archive(archive)))
    if args.resume:  # rank 0's one-line error stops the other ranks too (dist_utils.on_main)
        dist_utils.on_main(check_writable_dir, args.resume, "search folder")
    else:
        dist_utils.on_main(check_out_dir, args.out)
    run_dir = _run_dir(args, config, dist)
    log = (lambda s: None) if args.quiet else _echo
    try:  # from the folder's creation on: Ctrl-C or an error before a candidate finished leaves no folder
        with locked(run_dir if dist.is_main else None):  # one writer per search folder
            if args.resume and (run_dir / "final.json").is_file():  # every rank sees the same folder
                if dist.is_main:
                    final = json.loads((run_dir / "final.json").read_text(encoding="utf-8"))
                    print(f"{run_dir}: nothing to do: the search and the final training are finished (best "
                          f"{final.get('candidate')}, {final.get('images_seen', 0) / 1000:g} kimg; scores in final.json)")
                return 0
            if dist.is_main:
                atomic_write_json(run_dir / SEARCH_CONFIG, config.to_dict())
                atomic_write_json(run_dir / RUN_INFO, {"data": str(archive), "command": " ".join(shlex.quote(a) for a in sys.argv)})
                log(f"search in {run_dir} ({dist.world_size} process(es))")
            search = Search(config, archive, run_dir, rank=dist.rank, world_size=dist.world_size, log=log)
            best = search.run()
            if dist.enabled:  # the final training is rank 0's alone; its checkpoints must not wait on other ranks
                torch.distributed.barrier()
                torch.distributed.destroy_process_group()
            if dist.is_main:
                log(f"best: {best.id} score {best.score} -> {run_dir / 'best_spec.json'}; training it on")
                final = search.train_final(best, verbose=not args.quiet)
                if final is None:
                    raise KeyboardInterrupt
                log("final " + " ".join(f"{k}={v:.4g}" for k, v in final["scores"].items()))
                log(f"done: {run_dir} (growgan generate {run_dir} --out grid.png)")
    except BaseException as exc:
        if not args.resume and dist.is_main and not any(run_dir.rglob("result.json")):
            discard_unstarted_run(run_dir)  # no candidate finished: leave no folder behind
        elif isinstance(exc, KeyboardInterrupt) and dist.is_main:  # --quiet or not: where the work is
            print(f"search folder {run_dir} kept; continue it with `growgan search --resume {run_dir}`",
                  file=sys.stderr)
        raise
    return 0


def _echo(text: str) -> None:
    """Print a line without breaking a progress bar on screen."""
    from tqdm import tqdm

    tqdm.write(text)
