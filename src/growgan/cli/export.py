"""`growgan export`: the generator of a run for other tools (TorchScript, ONNX, safetensors).

    growgan export runs/00000-dcgan-32 --format torchscript --out G.pt
    growgan export runs/00000-dcgan-32 --format onnx --out G.onnx
    growgan export runs/00000-dcgan-32 --format safetensors --out G.safetensors [--raw]
    growgan export runs/00000-dcgan-32 --out G.onnx        # the format from the suffix (.pt, .onnx, .safetensors)
"""

from __future__ import annotations

from growgan.errors import GrowganError
from growgan.utils.formats import EXPORT_FORMATS as FORMATS
from growgan.utils.formats import EXPORT_SUFFIXES as SUFFIXES
from growgan.utils.threads import add_threads_argument

# torch and the library are imported in cmd_export: `growgan --help` stays fast.


def register(subparsers) -> None:
    """Add `export` to the `growgan` parser."""
    p = subparsers.add_parser("export", help="export a run's generator (G_ema) as TorchScript, ONNX or safetensors")
    p.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--format", help=f"one of {', '.join(FORMATS)} (default: from --out's suffix: "
                   + ", ".join(f"{k} {v}" for k, v in SUFFIXES.items()) + ")")
    p.add_argument("--out", required=True, help="output file (e.g. G.pt, G.onnx, G.safetensors)")
    p.add_argument("--raw", action="store_true", help="export the raw generator instead of G_ema")
    add_threads_argument(p)
    p.set_defaults(func=cmd_export)


def export_format(fmt: str | None, out: str) -> str:
    """The export format of `growgan export --format FMT --out OUT`: FMT, else the one OUT's
    suffix names (.pt, .onnx, .safetensors). A suffix of another format than FMT (ONNX written
    into G.pt) and an unknown FMT or suffix are one-line GrowganErrors."""
    from pathlib import Path

    suffix = Path(out).suffix.lower()
    if fmt is None:
        if suffix not in SUFFIXES:
            raise GrowganError(f"--out {out}: give --format ({', '.join(FORMATS)}) or a file ending in "
                               f"{', '.join(SUFFIXES)}")
        return SUFFIXES[suffix]
    if fmt not in FORMATS:
        raise GrowganError(f"--format {fmt}: not an export format; choose from {', '.join(FORMATS)}")
    if SUFFIXES.get(suffix, fmt) != fmt:
        want = next(k for k, v in SUFFIXES.items() if v == fmt)
        raise GrowganError(f"--out {out}: {suffix} is the {SUFFIXES[suffix]} suffix, not {fmt}'s; name the file "
                           f"{Path(out).with_suffix(want).name} (or leave out --format)")
    return fmt


def cmd_export(args) -> int:
    from growgan.training.checkpoint import load_generator, resolve_checkpoint
    from growgan.training.export import check_export, export_generator
    from growgan.utils.io import check_out_file

    args.format = export_format(args.format, args.out)
    check_out_file(args.out, "--out")
    path, ckpt = resolve_checkpoint(args.source)
    G = load_generator(path, ema=not args.raw, device="cpu")
    export_generator(G, args.out, args.format, spec=ckpt["state"]["spec"])
    diff = check_export(G, args.out, args.format)
    which = "G" if args.raw else "G_ema"
    print(f"wrote {which} of {path} as {args.format} to {args.out} (checked: max |difference| {diff:.2g} on 4 fixed latents)")
    return 0
