"""`growgan train` and `growgan generate`.

    growgan train --preset dcgan-32 --data builtin --kimg 5 [--out runs] [--set lr_G=1e-3]
    growgan train --resume runs/00000-dcgan-32 [--kimg 10]
    torchrun --nproc_per_node 2 -m growgan train ...     (batch_size is per process)
    growgan generate runs/00000-dcgan-32 --num 64 --seed 0 --out grid.png
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from growgan.errors import GrowganError
from growgan.utils.threads import add_threads_argument


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
    add_threads_argument(p)
    p.set_defaults(func=cmd_train)

    g = subparsers.add_parser("generate", help="write images from a trained generator")
    g.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    g.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True, help="a .png/.jpg file for a grid, or a folder for one PNG per image")
    g.add_argument("--raw", action="store_true", help="use the raw generator instead of G_ema")
    g.add_argument("--class", dest="class_index", type=int, help="label for conditional generators (default: cycle)")
    g.add_argument("--device", default="cpu")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(g)
    g.set_defaults(func=cmd_generate)


# ---------------------------------------------------------------------------- train
def build_config(args):
    """Preset -> --zoo-config -> --config -> --arch -> --set -> --seed -> --kimg."""
    from growgan.training.config import TrainConfig, apply_overrides, load_config_file
    from growgan.training.presets import get_preset

    if args.zoo_config:
        try:
            from growgan.training.zoo_config import config_from_zoo_json
        except ImportError:
            raise GrowganError("--zoo-config is not available in this build (growgan.training.zoo_config missing)") from None

        config = config_from_zoo_json(args.zoo_config)
    else:
        config = get_preset(args.preset) if args.preset else TrainConfig()
    if args.config:
        config = load_config_file(args.config, base=config)
    if args.arch:
        config = config.copy(network=_read_spec(args.arch), growth=None)
    if args.overrides:
        config = apply_overrides(config, args.overrides)
    if args.seed is not None:
        config = config.copy(seed=args.seed)
    if args.kimg is not None:
        config = config.copy(kimg=float(args.kimg))
    if args.name:
        config = config.copy(name=args.name)
    return config


def _read_spec(path: str) -> dict:
    p = Path(path)
    try:
        spec = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GrowganError(f"{p}: network spec file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GrowganError(f"{p}: not valid JSON ({exc}); give a network spec {{'family','G','D'}}") from None
    if not isinstance(spec, dict) or not {"family", "G", "D"} <= set(spec):
        raise GrowganError(f'{p}: a network spec needs the keys "family", "G" and "D"')
    return spec


def _resolve_data(name_or_path: str) -> Path:
    from growgan.data import resolve_archive

    return Path(resolve_archive(name_or_path))


def cmd_train(args) -> int:
    from growgan.training import distributed as dist_utils

    if args.resume:
        return _resume(args)
    if not (args.preset or args.config or args.arch or args.zoo_config):
        raise GrowganError("give --preset NAME (see --preset help), --config FILE, --arch SPEC.json or --zoo-config FILE")
    if args.zoo_config and not args.data:  # a zoo config names its data in "pathDB"
        from growgan.training.zoo_config import zoo_archive

        args.data = str(zoo_archive(args.zoo_config))
    config = build_config(args)
    if args.dry_run:
        if args.data:
            from growgan.data import open_archive
            from growgan.training.loop import resolve_network

            config = config.copy(network=resolve_network(config.network, open_archive(_resolve_data(args.data))))
        print(json.dumps(config.to_dict(), indent=2, sort_keys=True))
        return 0
    if not args.data:
        raise GrowganError("give --data ARCHIVE (a folder from `growgan dataset prepare`) or --data builtin")
    info = dist_utils.init_from_env(_device_kind(config.device))
    data = _resolve_data(args.data) if info.is_main else None
    data = Path(dist_utils.gather_objects(str(data) if data else None)[0])
    run_dir = _new_run(args, config, data) if info.is_main else None
    run_dir = dist_utils.gather_objects(str(run_dir) if run_dir else None)[0]
    return _train(config, data, Path(run_dir), args, state=None, resume=None)


def _new_run(args, config, data: Path) -> Path:
    from growgan.training.rundir import new_run_dir, write_config

    run_dir = new_run_dir(args.out, config.name)
    write_config(run_dir, config)
    from growgan.utils.io import atomic_write_json

    atomic_write_json(run_dir / "run.json", {"data": str(data), "command": " ".join(shlex.quote(a) for a in sys.argv)})
    return run_dir


def _train(config, data: Path, run_dir: Path, args, state, resume) -> int:
    from growgan.training import distributed as dist_utils
    from growgan.training.loop import Trainer

    trainer = Trainer(config, data, state=state, run_dir=run_dir, verbose=not args.quiet, handle_signals=True,
                      resume=resume)
    if trainer.dist.is_main:
        from growgan.training.rundir import write_config

        write_config(run_dir, trainer.config)  # with the network resolved against the archive
        trainer.log.line(f"run folder {run_dir}")
        from growgan.utils.threads import applied

        if (choice := applied()) is not None:
            trainer.log.line(f"threads: {choice.threads} ({choice.reason})")
    status = trainer.train_until(int(round(trainer.config.kimg * 1000)))
    trainer.log.close()
    if trainer.dist.is_main:
        where = trainer.last_checkpoint or run_dir
        trainer.log.line(f"{status} at kimg {trainer.state.kimg:.3f}; checkpoint {where}")
    dist_utils.barrier()
    if status == "interrupted":
        return 128 + int(trainer._stop_signal or 15)
    return 0


def _resume(args) -> int:
    from growgan.training import distributed as dist_utils
    from growgan.training.checkpoint import latest_checkpoint, restore_state
    from growgan.training.config import TrainConfig, apply_overrides
    from growgan.training.rundir import truncate_jsonl

    run_dir = Path(args.resume)
    if not run_dir.is_dir():
        raise GrowganError(f"{run_dir}: run folder not found; give a folder made by growgan train")
    path, ckpt = latest_checkpoint(run_dir)
    config = TrainConfig.from_dict(ckpt["config"], source=str(path))
    if args.overrides:
        config = apply_overrides(config, args.overrides)
    if args.kimg is not None:
        config = config.copy(kimg=float(args.kimg))
    if args.dry_run:
        print(json.dumps(config.to_dict(), indent=2, sort_keys=True))
        return 0
    done = int((ckpt.get("state") or {}).get("images_seen", 0) or 0)
    if done >= int(round(config.kimg * 1000)):
        print(f"{run_dir}: nothing to do: the run has seen {done / 1000:g} kimg, which reaches "
              f"--kimg {config.kimg:g}; give a larger --kimg to train on")
        return 0
    run_info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
    data_arg = args.data or run_info.get("data")
    if not data_arg:
        raise GrowganError(f"{run_dir}: run.json does not name the archive; give --data ARCHIVE")
    info = dist_utils.init_from_env(_device_kind(config.device))
    data = _resolve_data(data_arg)
    from growgan.training.loop import _default_device

    device = _default_device(config.device, info)
    state = restore_state(ckpt, config, device, path)
    if info.is_main:
        for name in ["stats.jsonl"] + [p.name for p in run_dir.glob("metric-*.jsonl")]:
            truncate_jsonl(run_dir / name, state.images_seen)
    return _train(config, data, run_dir, args, state=state, resume=ckpt["extra"])


def _device_kind(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if device.startswith("cuda") else "cpu"


# ---------------------------------------------------------------------------- generate
def cmd_generate(args) -> int:
    import torch

    from growgan.training.checkpoint import load_generator
    from growgan.utils.image import save_grid, save_image, to_uint8

    if args.num < 1:
        raise GrowganError("--num must be at least 1")
    G = load_generator(args.source, ema=not args.raw, device=args.device)
    g = torch.Generator().manual_seed(args.seed)
    z = torch.randn(args.num, G.z_dim, generator=g)  # [N, z_dim]
    c = None
    if getattr(G, "c_dim", 0):
        c = torch.full((args.num,), args.class_index) if args.class_index is not None else torch.arange(args.num) % G.c_dim
    from growgan.utils.progress import bar

    with torch.no_grad():
        imgs = torch.cat([G(z[i:i + 64].to(args.device), None if c is None else c[i:i + 64].to(args.device)).float().cpu()
                          for i in bar(range(0, args.num, 64), desc="generate", unit="batch")])  # [N, C, H, W]
    out = Path(args.out)
    if out.suffix.lower() in (".png", ".jpg", ".jpeg"):
        save_grid(imgs, out, upscale=max(1, 64 // imgs.shape[-1]))
        print(f"wrote a grid of {args.num} images to {out}")
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(to_uint8(imgs)):
            save_image(img, out / f"{args.seed:04d}-{i:06d}.png")
        print(f"wrote {args.num} images to {out}/")
    return 0
