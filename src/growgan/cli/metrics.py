"""`growgan metrics`: score a run folder / checkpoint against an archive, compare two image
sets, or train the offline feature classifier (`growgan metrics train-classifier`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from growgan.errors import GrowganError
from growgan.utils.device import add_device_argument
from growgan.utils.threads import add_threads_argument

# torch and the metrics are imported inside the functions that run the command, so that
# building the parser for `growgan --help` / `--version` stays fast (tests/test_cli_imports.py).

DEFAULT_METRICS = "swd,ms-ssim"
TRAIN_CLASSIFIER = "metrics-train-classifier"  # `growgan metrics train-classifier` (see route_subcommand)


def route_subcommand(argv: list[str]) -> list[str]:
    """`growgan metrics train-classifier ...` -> its own parser. `metrics` takes an optional
    positional RUN_DIR, which argparse cannot mix with sub-commands, so the two words are
    joined into one hidden command before parsing."""
    if argv[:2] == ["metrics", "train-classifier"]:
        return [TRAIN_CLASSIFIER] + argv[2:]
    return argv


def register(subparsers) -> None:
    """Add `growgan metrics` to the `growgan` parser."""
    p = subparsers.add_parser(
        "metrics",
        help="evaluate a generator or compare two image sets (SWD, MS-SSIM, FID, KID, IS, PR)",
        description=(
            "growgan metrics RUN_DIR_OR_CHECKPOINT --data ARCHIVE [--metrics swd,ms-ssim,fid,kid,is,pr]\n"
            "growgan metrics RUN_DIR_OR_CHECKPOINT --metrics ppl-w-end --perceptual vgg16.pt   (style-based G; no --data)\n"
            "growgan metrics --real ARCHIVE_OR_FOLDER --fake FOLDER_OR_ARCHIVE [--metrics ...]\n"
            "growgan metrics --real stats.npz --fake samples.npz --metrics fid   (pytorch-fid mu/sigma; arr_0 uint8 NHWC)\n"
            "growgan metrics --save-stats ARCHIVE_OR_FOLDER_OR_NPZ --out stats.npz   (pytorch-fid statistics)\n"
            "growgan metrics train-classifier --data LABELLED_ARCHIVE --out clf.pt"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", nargs="?", help="run folder or checkpoint file (or the sub-command train-classifier)")
    p.add_argument("--data", help="real-image archive or 'builtin'")
    p.add_argument("--real", help="real images: archive, image folder, .npz of uint8 NHWC images (arr_0) or "
                   "pytorch-fid statistics .npz (mu, sigma; fid only)")
    p.add_argument("--fake", help="fake images: image folder, archive or .npz (as --real)")
    p.add_argument("--save-stats", metavar="IMAGES", help="write pytorch-fid statistics (mu, sigma of the FID "
                   "Inception's pool features) of an archive, folder or .npz to --out")
    p.add_argument("--out", help="output .npz of --save-stats")
    p.add_argument("--metrics", default=DEFAULT_METRICS, help=f"comma-separated (default {DEFAULT_METRICS}); "
                   "fid/kid/is/pr use the FID Inception; fid-classifier/kid-classifier/pr-classifier the offline classifier; "
                   "conditional runs: swd-per-class, fid-per-class, fid-classifier-per-class, class-accuracy; "
                   "style-based runs: ppl-w-end, ppl-w-full, ppl-z-end, ppl-z-full (need --perceptual)")
    p.add_argument("--num", type=int, default=None, help="images per set (default: each metric's standard count)")
    p.add_argument("--num-reals", default=None, metavar="N|all",
                   help="real images for FID/KID/PR and their classifier forms: a count or 'all' "
                        "(default: as --num; SWD and MS-SSIM always use equal counts)")
    p.add_argument("--seed", type=int, default=0, help="seed for latents, patches, pairs and subsets")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--pairs", type=int, default=10_000, help="MS-SSIM: random pairs (default 10000)")
    p.add_argument("--background", default="white", metavar="COLOUR",
                   help="image folders: transparent pixels are composited onto it (default white, as dataset prepare)")
    add_device_argument(p)
    p.add_argument("--raw-g", action="store_true", help="evaluate the raw generator instead of the EMA one")
    p.add_argument("--inception-weights", default=None, help="pt_inception-2015-12-05-6726825d.pth "
                   "(else $GROWGAN_INCEPTION_WEIGHTS, the cache folder, or a download)")
    p.add_argument("--classifier", default=None, help="fid-classifier file from `growgan metrics train-classifier`")
    p.add_argument("--perceptual", default=None, metavar="VGG16.PT", help="ppl-* metrics: stylegan2-ada-pytorch's "
                   "LPIPS VGG16 TorchScript file (vgg16.pt; growgan cannot download it)")
    p.add_argument("--cache-dir", default=None, help="statistics cache (default $GROWGAN_CACHE or ~/.cache/growgan)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_threads_argument(p)
    p.set_defaults(func=run)

    t = subparsers.add_parser(TRAIN_CLASSIFIER, prog="growgan metrics train-classifier",
                              description="train the offline feature classifier of the *-classifier metrics")
    t.add_argument("--data", required=True, help="labelled archive (growgan dataset prepare ... with labels) or 'builtin'")
    t.add_argument("--out", required=True, help="output file, e.g. clf.pt")
    t.add_argument("--epochs", type=int, default=3, help="epochs (default 3)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=64)
    add_device_argument(t)
    add_threads_argument(t)
    t.set_defaults(func=_train_classifier)


def _num_reals(v: str | None) -> int | str | None:
    if v is None or v == "all":
        return v
    try:
        return int(v)
    except ValueError:
        raise GrowganError(f"--num-reals {v}: give a whole number >= 1 or 'all'") from None


def run(args: argparse.Namespace) -> int:
    if args.target == "train-classifier":  # reached only through main() without routing
        raise GrowganError("use: growgan metrics train-classifier --data LABELLED_ARCHIVE --out FILE.pt")
    import torch

    from growgan.metrics.api import MetricContext, compute
    from growgan.utils.device import device_argument

    ctx = MetricContext(
        num_images=args.num, num_reals=_num_reals(args.num_reals), seed=args.seed, batch_size=args.batch_size,
        device=torch.device(device_argument(args)),  # one line for a missing device, before any work
        cache_dir=Path(args.cache_dir) if args.cache_dir else None, ms_ssim_pairs=args.pairs,
        inception_weights=args.inception_weights, classifier=args.classifier, perceptual=args.perceptual,
    )
    if args.save_stats or args.out:
        return _save_stats(args, ctx)
    from growgan.metrics.api import metric_names, normalize_names

    if not normalize_names(args.metrics):  # `--metrics ""` computed nothing and exited 0
        raise GrowganError(f"--metrics {args.metrics!r}: no metric named; give one or more of {', '.join(metric_names())}")
    real, fake, run_dir, extra = _sources(args, ctx)
    t0 = time.time()

    def finished(name: str, result) -> None:  # print and record each metric as soon as it is done
        print(format_table({name: result}) + f"\n# {name}: {time.time() - t0:.1f} s", flush=True)
        if run_dir is not None:
            _append(run_dir, {name: result}, extra)

    compute(args.metrics, real, fake, ctx, on_result=finished)  # checks every metric's prerequisites first
    what = lambda src: "statistics" if src.stats is not None else f"{src.num} images"  # noqa: E731
    print(f"# {real.name} ({what(real)}) vs {fake.name} ({what(fake)}), {time.time() - t0:.1f} s")
    return 0


def _save_stats(args, ctx) -> int:
    from growgan.metrics.api import save_fid_stats
    from growgan.metrics.sources import open_source
    from growgan.utils.io import check_out_file

    if not (args.save_stats and args.out):
        raise GrowganError("give --save-stats IMAGES --out stats.npz together")
    if args.target or args.real or args.fake or args.data:
        raise GrowganError("--save-stats computes statistics of one image set; drop RUN_DIR/--data/--real/--fake")
    if not args.out.endswith(".npz"):
        raise GrowganError(f"--out {args.out}: statistics are an .npz file; name it e.g. stats.npz")
    check_out_file(args.out, "--out")
    source = open_source(args.save_stats)
    t0 = time.time()
    info = save_fid_stats(source, args.out, ctx)
    print(f"wrote {args.out}: mu [{info['dim']}], sigma [{info['dim']}, {info['dim']}] of {info['num']} images "
          f"of {source.name}, {time.time() - t0:.1f} s")
    return 0


def _sources(args, ctx):
    """-> (real source, fake source, run folder or None, extra fields for the jsonl rows)."""
    from growgan.data.decode import parse_background
    from growgan.metrics.api import GENERATOR_METRICS, normalize_names
    from growgan.metrics.ppl import PPL_NUM_SAMPLES
    from growgan.metrics.sources import generator_source, open_source
    from growgan.training.checkpoint import load_generator, resolve_checkpoint
    from growgan.utils.io import check_writable_dir

    if args.target is None:
        if not (args.real and args.fake):
            raise GrowganError("give RUN_DIR_OR_CHECKPOINT --data ARCHIVE, or --real A --fake B to compare two sets")
        bg = parse_background(args.background)
        real = open_source(args.real, background=bg)
        fake = open_source(args.fake, background=bg)
        return real, fake, None, {}
    generator_only = all(n in GENERATOR_METRICS for n in normalize_names(args.metrics))  # e.g. PPL: no reals
    if not args.data and not generator_only:
        raise GrowganError(f"{args.target}: --data ARCHIVE is needed to score a generator")
    if args.real or args.fake:
        raise GrowganError("--real/--fake compare two image sets; drop them when scoring a run")
    target = Path(args.target)
    if not target.exists():
        raise GrowganError(f"{target}: no such run folder or checkpoint")
    G = load_generator(target, ema=not args.raw_g, device=ctx.device or "cpu")
    ckpt_path, ckpt = resolve_checkpoint(target)
    num = args.num or (PPL_NUM_SAMPLES if generator_only else 10_000)
    if getattr(G, "input_kind", "latent") == "image":  # a translation run: its outputs on side A of --data
        if not args.data:
            raise GrowganError(f"{args.target}: --data ARCHIVE is needed to score a translation generator")
        real, fake = _translation_sets(G, args, ctx, num)
    else:
        res = tuple(G.img_resolution) if not isinstance(G.img_resolution, int) else (G.img_resolution,) * 2
        fake = generator_source(G, num, seed=args.seed, batch_size=args.batch_size, device=ctx.device)
        real = open_source(args.data, resolution=res) if args.data else fake  # generator-only metrics never read it
    images_seen = int(ckpt.get("state", {}).get("images_seen", 0) or 0)
    extra = {"checkpoint": str(ckpt_path), "images_seen": images_seen,
             "data": str(args.data) if args.data else None, "num_images": num, "seed": args.seed, "ema": not args.raw_g}
    run_dir = target if target.is_dir() else ckpt_path.parent.parent if ckpt_path.parent.name == "checkpoints" else ckpt_path.parent
    # each result is appended to run_dir/metric-<name>.jsonl: a read-only run failed only after
    # the (maybe hours of) computing; copy the run (or its checkpoint) somewhere writable
    check_writable_dir(run_dir, "run folder")
    return real, fake, run_dir, extra


def _translation_sets(G, args, ctx, num: int):
    """(targets, outputs) of an image-to-image G on the translation archive --data: aligned
    pairs (G(A_i), B_i) for a paired archive, else G(A) vs B's images as sets (CycleGAN)."""
    from growgan.data.paired import is_translation_archive, open_unpaired_archive
    from growgan.metrics.api import normalize_names
    from growgan.metrics.translation import cycle_sets, paired_sets, unpaired_sets

    if not is_translation_archive(args.data):
        raise GrowganError(f"{args.data}: a translation run is scored on a translation archive (the one it trained on); "
                           "give that as --data")
    paired = open_unpaired_archive(args.data).meta.get("kind") == "paired"
    sets = paired_sets if paired else unpaired_sets
    if "cycle-error" in normalize_names(args.metrics):  # round trips of both sides (a two-way run only)
        ctx.cycle = cycle_sets(G, args.data, num, args.seed, args.batch_size, ctx.device)
    real, fake = sets(G, args.data, num, args.seed, args.batch_size, ctx.device)
    ctx.paired, ctx.ms_ssim_real = paired, False
    return real, fake


def format_table(results) -> str:
    """SWD with one row per resolution (as ProGAN reproductions print it), then the other values."""
    lines = []
    for name, res in results.items():
        for note in res.notes:
            lines.append(f"# {note}")
        if name == "swd":
            lines.append(f"{'SWD resolution':<28}{'SWD x1e3':>12}")
            for key, val in res.values.items():
                size = key[len("swd_"):]
                label = "average" if key == "swd" else size if "x" in size else f"{size}x{size}"
                lines.append(f"{label:<28}{val:>12.4f}")
        else:
            for key, val in res.values.items():
                lines.append(f"{key:<28}{val:>12.4f}")
    return "\n".join(lines)


def _append(run_dir: Path, results, extra: dict) -> None:
    from growgan.training.rundir import append_metric

    extra = dict(extra)
    images_seen = extra.pop("images_seen")
    for name, res in results.items():
        path = append_metric(run_dir, name, res.values, images_seen, extra)
        print(f"# appended to {path}")


def _train_classifier(args) -> int:
    from growgan.metrics.classifier import train_classifier
    from growgan.utils.device import device_argument

    device = device_argument(args)
    train_classifier(args.data, args.out, epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
                     device=device, log=print)
    return 0
