"""`growgan translate`: map images with a trained image-to-image run (Pix2Pix, CycleGAN).

    growgan translate runs/00000-pix2pix-edges2fashion --input edges/ --out fashion/
    growgan translate runs/00000-pix2pix-edges2fashion --input data/edges2fashion-test --out out/ --metrics l1,ms-ssim-paired
    growgan translate runs/00001-cyclegan-mnist2fashion --input digits/ --out clothes/ --direction AtoB

--input is an image file, a folder of images (recursive; one PNG per image under --out, same
relative names) or a paired archive (its side A, or side B with --direction BtoA; with
--metrics the outputs are scored against the other side: l1, ms-ssim-paired and the set
metrics such as swd or fid). Every input is checked before anything is written.
"""

from __future__ import annotations

from pathlib import Path

from growgan.errors import GrowganError
from growgan.utils.device import add_device_argument
from growgan.utils.threads import add_threads_argument

# torch and the library are imported in cmd_translate: `growgan --help` stays fast.


def register(subparsers) -> None:
    """Add `translate` to the `growgan` parser."""
    t = subparsers.add_parser("translate", help="translate images with a trained pix2pix/cyclegan run")
    t.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    t.add_argument("--input", required=True, metavar="DIR_OR_IMAGE", help="image file, folder of images or paired archive")
    t.add_argument("--out", required=True, metavar="DIR", help="folder for one PNG per input image")
    t.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB", help="CycleGAN: which generator (default AtoB)")
    t.add_argument("--raw", action="store_true", help="use the raw generator instead of G_ema")
    t.add_argument("--metrics", default="", metavar="NAMES",
                   help="paired-archive input: score outputs against the other side (e.g. l1,ms-ssim-paired,swd)")
    t.add_argument("--batch-size", type=int, default=16)
    add_device_argument(t)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(t)
    t.set_defaults(func=cmd_translate)


def cmd_translate(args) -> int:
    import json

    from growgan.training.translate import load_translator, read_inputs, translate_inputs, write_outputs
    from growgan.utils.device import device_argument
    from growgan.utils.io import atomic_write_json, check_out_folder_name, check_writable_dir

    if args.batch_size < 1:
        raise GrowganError("--batch-size must be at least 1")
    args.device = device_argument(args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GrowganError(f"{out}: is a file; --out names a folder for one PNG per image")
    check_out_folder_name(out, "--out")
    check_writable_dir(out, "--out folder")
    names = _metric_names(args.metrics)
    tr = load_translator(args.source, args.direction, ema=not args.raw, device=args.device)
    inputs = read_inputs(args.input, tr, args.direction)
    if names and inputs.targets is None:
        raise GrowganError(f"--metrics needs a paired archive as --input (targets to compare with); {args.input} is not one")
    outputs = translate_inputs(tr, inputs, args.device, args.batch_size)
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(out, inputs.names, outputs)
    print(f"translated {len(outputs)} image(s) {args.direction[0]} -> {args.direction[-1]} into {out}/")
    if names:
        values = _score(names, inputs.targets, outputs, args)
        atomic_write_json(out / "metrics.json", values)
        print(json.dumps(values, sort_keys=True))
    return 0


def _metric_names(text: str) -> list[str]:
    if not text.strip():
        return []
    from growgan.metrics.api import normalize_names

    return normalize_names(text)


def _score(names: list[str], targets, outputs, args) -> dict:
    """Outputs vs their targets (aligned): {key: value} of every named metric."""
    import numpy as np
    import torch

    from growgan.metrics.api import compute, flatten
    from growgan.metrics.registry import MetricContext
    from growgan.metrics.sources import array_source

    real = array_source(np.ascontiguousarray(targets), f"{args.input} (targets)")
    fake = array_source(torch.stack(outputs), "outputs")
    ctx = MetricContext(batch_size=64, device=torch.device(args.device), paired=True, ms_ssim_real=False)
    return flatten(compute(names, real, fake, ctx))
