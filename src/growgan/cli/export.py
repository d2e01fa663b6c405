"""`growgan export`: the generator of a run for other tools (TorchScript, ONNX, safetensors).

    growgan export runs/00000-dcgan-32 --format torchscript --out G.pt
    growgan export runs/00000-dcgan-32 --format onnx --out G.onnx
    growgan export runs/00000-dcgan-32 --format safetensors --out G.safetensors [--raw]
"""

from __future__ import annotations

from growgan.errors import GrowganError
from growgan.utils.formats import EXPORT_FORMATS as FORMATS
from growgan.utils.threads import add_threads_argument

# torch and the library are imported in cmd_export: `growgan --help` stays fast.


def register(subparsers) -> None:
    """Add `export` to the `growgan` parser."""
    p = subparsers.add_parser("export", help="export a run's generator (G_ema) as TorchScript, ONNX or safetensors")
    p.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--format", required=True, help=f"one of {', '.join(FORMATS)}")
    p.add_argument("--out", required=True, help="output file (e.g. G.pt, G.onnx, G.safetensors)")
    p.add_argument("--raw", action="store_true", help="export the raw generator instead of G_ema")
    add_threads_argument(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from growgan.training.checkpoint import load_generator, resolve_checkpoint
    from growgan.training.export import check_export, export_generator
    from growgan.utils.io import check_out_file

    if args.format not in FORMATS:
        raise GrowganError(f"--format {args.format}: not an export format; choose from {', '.join(FORMATS)}")
    check_out_file(args.out, "--out")
    path, ckpt = resolve_checkpoint(args.source)
    G = load_generator(path, ema=not args.raw, device="cpu")
    export_generator(G, args.out, args.format, spec=ckpt["state"]["spec"])
    diff = check_export(G, args.out, args.format)
    which = "G" if args.raw else "G_ema"
    print(f"wrote {which} of {path} as {args.format} to {args.out} (checked: max |difference| {diff:.2g} on 4 fixed latents)")
    return 0
