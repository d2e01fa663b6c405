"""`growgan train`.

    growgan train --preset dcgan-32 --data builtin --kimg 5 [--out runs] [--set lr_G=1e-3]
    growgan train --resume runs/00000-dcgan-32 [--kimg 10]
    torchrun --nproc_per_node 2 -m growgan train ...     (batch_size is per process)
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


def register(subparsers) -> None:
    """Add `train` and `generate` to the `growgan` parser."""
    p = subparsers.add_parser("train", help="train a GAN (fixed or growing) into a run folder")
    p.add_argument("--preset", help="named preset (dcgan-32, resnet-32, progan-..., dggan-...)")
    p.add_argument("--data", help="archive folder (growgan dataset prepare) or 'builtin'")
    p.add_argument("--kimg", type=float, help="train until this many thousand real images (default: the config's)")
    p.add_argument("--out", default="runs", help="parent folder of run folders (default: runs)")
    p.add_argument("--config", help="JSON or YAML file of config keys (applied after the preset)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (JSON value; dotted keys reach into dicts), repeatable")
    p.add_argument("--seed", type=int, help="random seed (same seed, same run on CPU)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest complete checkpoint")
    p.add_argument("--arch", metavar="SPEC.json", help="train this network spec from scratch (e.g. a search's best_spec.json)")
    p.add_argument("--zoo-config", metavar="FILE", help="a pytorch_GAN_zoo-style JSON config")
    p.add_argument("--name", help="run name (default: the preset's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or console log")
    p.add_argument("--show-keys", action="store_true",
                   help="list every config key (with --preset: its values) with type, default and meaning, and exit")
    add_threads_argument(p)
    p.set_defaults(func=cmd_train)


def build_config(args) -> TrainConfig:
    """The options of a new run -> its config (`growgan.training.resolve.resolve_config`)."""
    from growgan.training.resolve import resolve_config

    return resolve_config(preset=args.preset, zoo_config=args.zoo_config, config_file=args.config, arch=args.arch,
                          overrides=args.overrides, seed=args.seed, kimg=args.kimg, name=args.name)


def _resolve_data(name_or_path: str, config=None) -> Path:
    """--data -> the path of the training data: an archive (or dataset name) for generation;
    for another task (config.task) whatever its `open_data` accepts (a paired archive ...)."""
    from growgan.data import resolve_archive
    from growgan.training.task import make_task, task_kind

    if config is not None and task_kind(config) != "generation":
        make_task(config).open_data(Path(name_or_path))  # a one-line error for anything it cannot read
        return Path(name_or_path)
    return Path(resolve_archive(name_or_path))


def _resolved_network(config, data) -> dict:
    """The network spec with its data-dependent keys filled in by the config's task (one-line errors)."""
    from growgan.training.task import make_task

    task = make_task(config)
    return task.resolve_network(config.network, task.open_data(data))


def cmd_train(args) -> int:
    from growgan.training import distributed as dist_utils
    from growgan.training.rundir import check_out_dir, locked
    from growgan.training.zoo_config import zoo_archive
    from growgan.utils.device import check_device

    if args.show_keys:
        return _show_keys(args)
    if args.resume:
        return _resume(args)
    if not (args.preset or args.config or args.arch or args.zoo_config):
        raise GrowganError("give --preset NAME (list them: growgan presets), --config FILE, --arch SPEC.json or --zoo-config FILE")
    if args.zoo_config and not args.data:  # a zoo config names its data in "pathDB"
        args.data = str(zoo_archive(args.zoo_config))
    config = build_config(args)
    if args.dry_run:
        if args.data:
            config = config.copy(network=_resolved_network(config, _resolve_data(args.data, config)))
        if config.network:
            from growgan.networks.registry import check_network_spec

            check_network_spec(config.network)  # what a real run would refuse, refused here too
        if args.data and config.network:
            _build_on_meta(config.network)  # and the value ranges the constructors check
        print(json.dumps(config.to_dict(), indent=2, sort_keys=True))
        return 0
    if not args.data:
        raise GrowganError("give --data ARCHIVE (a folder from `growgan dataset prepare`) or --data builtin")
    check_device(config.device)  # before anything is created
    check_out_dir(args.out)
    info = dist_utils.init_from_env(_device_kind(config.device))
    # rank 0 alone reads the data name (it may unpack 'builtin') and makes the run folder; its
    # one-line error stops the other ranks too (dist_utils.share_from_main)
    data = Path(str(dist_utils.on_main(_resolve_data, args.data, config)))
    _resolved_network(config, data)  # refuse a misfit (e.g. conditional, unlabelled) before the run folder
    run_dir, error = None, None
    if info.is_main:
        try:
            run_dir = _new_run(args, config, data)
        except GrowganError as exc:
            error = exc
    entered = False
    try:  # Ctrl-C or an error before _train takes the folder over leaves no half-made run
        run_dir = dist_utils.share_from_main(str(run_dir) if run_dir else None, error)
        with locked(Path(run_dir) if info.is_main else None):
            entered = True
            return _train(config, data, Path(run_dir), args, state=None, resume=None)
    except BaseException:
        if not entered and info.is_main and run_dir is not None:
            from growgan.training.rundir import discard_unstarted_run

            discard_unstarted_run(Path(run_dir))
        raise


def _build_on_meta(network: dict) -> None:
    """Build G and D of a resolved spec on PyTorch's meta device (no memory, no compute), so a
    dry run refuses what the constructors refuse (num_fp16_res=-1, style_mixing_prob=1.5,
    conv_clamp=-1 ...), as the real run would. An op the meta device lacks is no error here."""
    import torch

    from growgan.networks.registry import build_networks

    try:
        with torch.device("meta"):
            build_networks(network)
    except (NotImplementedError, RuntimeError):
        pass


def _show_keys(args) -> int:
    """`growgan train [--preset P ...] --show-keys`: the table of `config_key_table`."""
    from growgan.training.config import config_key_table

    config = build_config(args) if (args.preset or args.config or args.arch or args.zoo_config) else None
    rows = config_key_table(config)
    width = max(len(r[0]) for r in rows)
    twidth = min(28, max(len(r[1]) for r in rows))
    what = f"preset {args.preset}" if args.preset else "the given config" if config is not None else "the defaults"
    print(f"# config keys ({what}); set any with --set KEY=VALUE (JSON values), e.g. --set lr_G=0.001")
    for key, typ, value, text in rows:
        print(f"{key:<{width}}  {typ:<{twidth}}  {json.dumps(value, default=str):<14}  {text}")
    return 0


def _has_output(run_dir: Path) -> bool:
    """Whether a run folder holds what a user may want to read: a stats.jsonl row or a grid."""
    stats = run_dir / "stats.jsonl"
    return (stats.is_file() and stats.stat().st_size > 0) or any((run_dir / "grids").glob("*.png"))


def _new_run(args, config, data: Path) -> Path:
    from growgan.training.rundir import discard_unstarted_run, new_run_dir, write_config
    from growgan.utils.io import atomic_write_json

    run_dir = new_run_dir(args.out, config.name)
    try:
        write_config(run_dir, config)
        atomic_write_json(run_dir / "run.json", {"data": str(data), "command": " ".join(shlex.quote(a) for a in sys.argv)})
    except BaseException:  # a full disk or Ctrl-C here: no folder without its config
        discard_unstarted_run(run_dir)
        raise
    return run_dir


def _train(config, data: Path, run_dir: Path, args, state, resume) -> int:
    from growgan.training import distributed as dist_utils
    from growgan.training.rundir import discard_unstarted_run, write_config

    trainer = None
    try:
        # inside the try: these imports take seconds, and a Ctrl-C during them left a run
        # folder with only config.json, run.json and the lock
        from growgan.growth import build_trainer
        from growgan.utils.threads import applied
        from growgan.utils.units import kimg_to_images

        trainer = build_trainer(config, data, state=state, run_dir=run_dir, verbose=not args.quiet,
                                handle_signals=True, resume=resume)
        if trainer.dist.is_main:
            write_config(run_dir, trainer.config)  # with the network resolved against the archive
            trainer.log.line(f"run folder {run_dir}")
            if (choice := applied()) is not None:
                trainer.log.line(f"threads: {choice.threads} ({choice.reason})")
        status = trainer.train_until(kimg_to_images(trainer.config.kimg))
    except BaseException:
        # a new run that fails before it has written anything of value (no checkpoint, no
        # stats row, no grid: an out-of-memory error at step 3, a bad archive, Ctrl-C while
        # starting) leaves no half-made folder. Kept: a resumed run's folder; one holding a
        # checkpoint (discard_unstarted_run checks the disk as well); one with stats or grids,
        # which show what happened (e.g. with checkpoint_kimg=0, "only at the end"); a run that
        # diverged, whose log is what explains it; and, under torchrun, any failure after the
        # first step, since rank 0 then often sees only a peer's collective error and cannot
        # tell a divergence on another rank from an error of its own. The error is re-raised:
        # one line for a GrowganError, a traceback for the others, as before.
        from growgan.training.loop import NonFiniteLossError

        info = dist_utils.current()
        started = trainer is not None and trainer.state.step > 0
        keep = (resume is not None or not info.is_main or isinstance(sys.exc_info()[1], NonFiniteLossError)
                or (trainer is not None and trainer.last_checkpoint is not None)
                or (info.enabled and started) or _has_output(run_dir))
        if not keep:
            if trainer is not None:
                trainer.log.close()
            discard_unstarted_run(run_dir)
        raise
    trainer.log.close()
    if trainer.dist.is_main:
        where = trainer.last_checkpoint or run_dir
        line = f"{status} at kimg {trainer.state.kimg:.3f}; checkpoint {where}"
        trainer.log.line(line)
        if status == "interrupted" and args.quiet:  # --quiet silences the log, not where the work was saved
            print(line, file=sys.stderr)
    dist_utils.barrier()
    if status == "interrupted":
        return 128 + int(trainer.stop_signal or 15)
    return 0


def _resume(args) -> int:
    from growgan.training import distributed as dist_utils
    from growgan.training.checkpoint import latest_checkpoint, restore_state
    from growgan.training.config import TrainConfig
    from growgan.training.loop import default_device
    from growgan.training.resolve import resolve_config
    from growgan.training.resume import apply_optimizer_settings, describe, resume_changes
    from growgan.training.rundir import locked, read_run_info, truncate_jsonl
    from growgan.utils.device import check_device
    from growgan.utils.io import check_writable_dir
    from growgan.utils.units import kimg_to_images

    run_dir = Path(args.resume)
    if not run_dir.is_dir():
        raise GrowganError(f"{run_dir}: run folder not found; give a folder made by growgan train")
    if args.preset or args.arch or args.zoo_config:
        raise GrowganError("--resume continues the run's own network and schedule; drop --preset/--arch/--zoo-config")
    path, ckpt = latest_checkpoint(run_dir)
    saved = TrainConfig.from_dict(ckpt["config"], source=str(path))
    config = resolve_config(base=saved, config_file=args.config, overrides=args.overrides, seed=args.seed,
                            kimg=args.kimg, name=args.name)
    changed = resume_changes(saved, config)  # refuses what cannot change on resume (training/resume.py)
    if args.dry_run:
        print(json.dumps(config.to_dict(), indent=2, sort_keys=True))
        return 0
    check_device(config.device)
    data_arg = args.data or read_run_info(run_dir, need_data=True).get("data")
    info = dist_utils.init_from_env(_device_kind(config.device))
    dist_utils.on_main(check_writable_dir, run_dir, "run folder")
    data = _resolve_data(data_arg, config)
    device = default_device(config.device, info)
    state = restore_state(ckpt, config, device, path)
    apply_optimizer_settings(state, config, changed)
    notes = [f"resumed from {path}" + (f" with {describe(changed)}" if changed else "")]
    with locked(run_dir if info.is_main else None):  # before anything in the folder changes
        if state.images_seen >= kimg_to_images(config.kimg):  # every rank sees the same checkpoint
            if info.is_main:
                print(f"{run_dir}: nothing to do: the run has seen {state.images_seen / 1000:g} kimg, which reaches "
                      f"--kimg {config.kimg:g}; give a larger --kimg to train on")
            return 0
        if info.is_main:
            for name in ["stats.jsonl"] + [p.name for p in run_dir.glob("metric-*.jsonl")]:
                truncate_jsonl(run_dir / name, state.images_seen)
        return _train(config, data, run_dir, args, state=state,
                      resume={**ckpt["extra"], "notes": notes, "path": str(path)})


def _device_kind(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if device.startswith("cuda") else "cpu"
