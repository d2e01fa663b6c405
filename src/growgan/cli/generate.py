"""`growgan generate`: write images from a trained generator.

    growgan generate runs/00000-dcgan-32 --num 64 --seed 0 --out grid.png
    growgan generate runs/00000-biggan-cifar10-32 --class 3 --trunc 0.5 --out cats.png
"""

from __future__ import annotations

from pathlib import Path

from growgan.errors import GrowganError
from growgan.utils.threads import add_threads_argument

# torch and the library are imported in cmd_generate: `growgan --help` stays fast.


def register(subparsers) -> None:
    """Add `generate` to the `growgan` parser."""
    g = subparsers.add_parser("generate", help="write images from a trained generator")
    g.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    g.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True, help="a .png/.jpg file for a grid, or a folder for one PNG per image")
    g.add_argument("--raw", action="store_true", help="use the raw generator instead of G_ema")
    g.add_argument("--class", dest="class_index", type=int, help="label for conditional generators (default: cycle)")
    g.add_argument("--trunc", type=float, metavar="T",
                   help="truncation trick (BigGAN): redraw every latent value with |z| > T (e.g. 0.5; default off)")
    g.add_argument("--device", default="cpu")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(g)
    g.set_defaults(func=cmd_generate)


def cmd_generate(args) -> int:
    import torch

    from growgan.training.checkpoint import load_generator
    from growgan.utils.device import check_device
    from growgan.utils.image import save_grid, save_image, to_uint8
    from growgan.utils.io import check_out_file, check_writable_dir
    from growgan.utils.latent import truncated_normal
    from growgan.utils.progress import bar

    if args.num < 1:
        raise GrowganError("--num must be at least 1")
    if args.trunc is not None and not args.trunc > 0:
        raise GrowganError(f"--trunc {args.trunc}: must be > 0 (smaller = less variety, higher fidelity)")
    check_device(args.device, "--device")
    out = Path(args.out)
    if out.suffix.lower() in (".png", ".jpg", ".jpeg"):
        check_out_file(out, "--out")
    elif out.exists() and not out.is_dir():
        raise GrowganError(f"{out}: is a file; --out names a folder for one PNG per image (or a .png file for a grid)")
    else:
        check_writable_dir(out, "--out folder")
    G = load_generator(args.source, ema=not args.raw, device=args.device)
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    if args.class_index is not None and not c_dim:
        raise GrowganError(f"--class {args.class_index}: {args.source} holds an unconditional generator; drop --class")
    if args.class_index is not None and not 0 <= args.class_index < c_dim:
        raise GrowganError(f"--class {args.class_index}: the generator has classes 0..{c_dim - 1}")
    g = torch.Generator().manual_seed(args.seed)
    z = truncated_normal(args.num, G.z_dim, args.trunc, generator=g)  # [N, z_dim]
    c = None
    if c_dim:
        c = torch.full((args.num,), args.class_index) if args.class_index is not None else torch.arange(args.num) % G.c_dim
    with torch.no_grad():
        imgs = torch.cat([G(z[i:i + 64].to(args.device), None if c is None else c[i:i + 64].to(args.device)).float().cpu()
                          for i in bar(range(0, args.num, 64), desc="generate", unit="batch")])  # [N, C, H, W]
    if out.suffix.lower() in (".png", ".jpg", ".jpeg"):
        save_grid(imgs, out, upscale=max(1, 64 // imgs.shape[-1]))
        print(f"wrote a grid of {args.num} images to {out}")
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(to_uint8(imgs)):
            save_image(img, out / f"{args.seed:04d}-{i:06d}.png")
        print(f"wrote {args.num} images to {out}/")
    return 0
