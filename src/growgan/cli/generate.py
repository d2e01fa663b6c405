"""`growgan generate`: write images from a trained generator.

    growgan generate runs/00000-dcgan-32 --num 64 --seed 0 --out grid.png
    growgan generate runs/00000-biggan-cifar10-32 --class 3 --trunc 0.5 --out cats.png
    growgan generate runs/00001-stylegan2-mnist-32 --trunc 0.7 --out g.png     # truncation trick
    growgan generate runs/00001-stylegan2-mnist-32 --style-mix --out mix.png   # style mixing grid

--trunc T is the truncation trick of the generator's family: for a style-based generator
(stylegan2, stylegan: one with `mapping` and `synthesis`) it is psi, pulling w towards w_avg
(0 = the average image, 1 = off); for others (BigGAN) z's values beyond |T| are redrawn.
--trunc-cutoff and --style-mix need a style-based generator. The style mixing grid (Karras et al. 2019, fig. 3): the top row shows the
column sources, the left column the row sources; each cell takes the ws of its row source
below the crossover index `--mix-cutoff` and those of its column source from it on.
"""

from __future__ import annotations

from pathlib import Path

from growgan.errors import GrowganError
from growgan.utils.formats import GRID_SUFFIXES
from growgan.utils.device import add_device_argument
from growgan.utils.threads import add_threads_argument

# torch and the library are imported in cmd_generate: `growgan --help` stays fast.


def register(subparsers) -> None:
    """Add `generate` to the `growgan` parser."""
    g = subparsers.add_parser("generate", help="write images from a trained generator")
    g.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    g.add_argument("--num", type=int, default=None, help="number of images (default 64; with --style-mix: sources per side, default 6)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True, help="a .png/.jpg file for a grid, or a folder for one PNG per image")
    g.add_argument("--raw", action="store_true", help="use the raw generator instead of G_ema")
    g.add_argument("--class", dest="class_index", type=int, help="label for conditional generators (default: cycle)")
    g.add_argument("--trunc", type=float, metavar="T",
                   help="truncation trick: psi of a style-based G (stylegan2/stylegan: 0 = average image, 1 = off, e.g. 0.7); "
                        "for others (BigGAN) redraw every latent value with |z| > T (e.g. 0.5); default off")
    g.add_argument("--trunc-cutoff", dest="truncation_cutoff", type=int, default=None,
                   help="style-based G: truncate only the first N ws (default: all)")
    g.add_argument("--style-mix", action="store_true", help="write a style mixing grid (a .png file) instead")
    g.add_argument("--mix-cutoff", type=int, default=None,
                   help="crossover index for --style-mix: row styles below it, column styles from it (default: num_ws // 2)")
    add_device_argument(g)
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(g)
    g.set_defaults(func=cmd_generate)


def _style_based(G, what: str) -> None:
    from growgan.networks.registry import is_style_based

    if not is_style_based(G):
        raise GrowganError(f"{what} needs a style-based generator (the stylegan2 or stylegan family); this run's is {G.family}")


def cmd_generate(args) -> int:
    import torch

    from growgan.networks.registry import is_style_based
    from growgan.training.checkpoint import load_generator
    from growgan.utils.device import device_argument
    from growgan.utils.image import save_grid, save_image, to_uint8
    from growgan.utils.io import FILE_SUFFIXES, check_out_file, check_writable_dir
    from growgan.utils.latent import truncated_normal
    from growgan.utils.progress import bar

    if args.num is None:
        args.num = 6 if args.style_mix else 64
    if args.num < 1:
        raise GrowganError("--num must be at least 1")
    if args.trunc is not None and not args.trunc >= 0:  # NaN too (a style-based G drew NaN images)
        raise GrowganError(f"--trunc {args.trunc}: must be >= 0 (psi of a style-based G, at most 2; > 0 otherwise)")
    if args.truncation_cutoff is not None and args.truncation_cutoff < 1:
        raise GrowganError("--trunc-cutoff must be at least 1")
    out = Path(args.out)
    is_grid = out.suffix.lower() in GRID_SUFFIXES
    if args.style_mix and not is_grid:
        raise GrowganError(f"{args.out}: --style-mix writes one grid; give a .png or .jpg file for --out")
    args.device = device_argument(args)
    if is_grid:
        check_out_file(out, "--out")
    elif out.exists() and not out.is_dir():
        raise GrowganError(f"{out}: is a file; --out names a folder for one PNG per image (or a .png file for a grid)")
    elif not out.is_dir() and (out.suffix.lower() in FILE_SUFFIXES or out.suffix.lower().startswith((".pn", ".jp"))):
        # g.jpgx, g.pngs, g.gif, g.json: a mistyped or unsupported grid file, not a new folder
        # (samples_psi0.7 or v1.2 are folder names)
        raise GrowganError(f"{out}: '{out.suffix}' is not a grid format; give a .png or .jpg file for a grid, or "
                           "a folder name for one PNG per image")
    else:
        check_writable_dir(out, "--out folder")
    G = load_generator(args.source, ema=not args.raw, device=args.device)
    if getattr(G, "input_kind", "latent") == "image":
        raise GrowganError(f"{args.source}: holds an image-to-image generator ({G.family}); use growgan translate "
                           f"{args.source} --input DIR_OR_IMAGE --out DIR")
    c_dim = int(getattr(G, "c_dim", 0) or 0)
    if args.class_index is not None and not c_dim:
        raise GrowganError(f"--class {args.class_index}: {args.source} holds an unconditional generator; drop --class")
    if args.class_index is not None and not 0 <= args.class_index < c_dim:
        raise GrowganError(f"--class {args.class_index}: the generator has classes 0..{c_dim - 1}")
    kw, z_trunc = {}, args.trunc
    if is_style_based(G):
        if args.trunc is not None and not args.trunc <= 2:
            raise GrowganError(f"--trunc {args.trunc}: psi of a style-based generator must be in [0, 2] (1 = off, e.g. 0.7)")
        kw = {"truncation_psi": 1.0 if args.trunc is None else args.trunc, "truncation_cutoff": args.truncation_cutoff}
        z_trunc = None  # psi acts on w, not on z
    elif args.truncation_cutoff is not None or args.style_mix:
        _style_based(G, "--trunc-cutoff" if not args.style_mix else "--style-mix")
    elif args.trunc is not None and not args.trunc > 0:
        raise GrowganError(f"--trunc {args.trunc}: must be > 0 (smaller = less variety, higher fidelity)")
    if args.style_mix:
        return _style_mix(G, args, kw, out)
    g = torch.Generator().manual_seed(args.seed)
    z = truncated_normal(args.num, G.z_dim, z_trunc, generator=g)  # [N, z_dim]
    c = None
    if c_dim:
        c = torch.full((args.num,), args.class_index) if args.class_index is not None else torch.arange(args.num) % G.c_dim
    with torch.no_grad():
        imgs = torch.cat([G(z[i:i + 64].to(args.device), None if c is None else c[i:i + 64].to(args.device), **kw).float().cpu()
                          for i in bar(range(0, args.num, 64), desc="generate", unit="batch")])  # [N, C, H, W]
    if is_grid:
        save_grid(imgs, out, upscale=max(1, 64 // imgs.shape[-1]))
        print(f"wrote a grid of {args.num} images to {out}")
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(to_uint8(imgs)):
            save_image(img, out / f"{args.seed:04d}-{i:06d}.png")
        print(f"wrote {args.num} images to {out}/")
    return 0


def _style_mix(G, args, kw: dict, out: Path) -> int:
    """An (n + 1) x (n + 1) style mixing grid (see the module doc)."""
    import torch

    from growgan.utils.image import save_grid
    n = args.num
    cutoff = args.mix_cutoff if args.mix_cutoff is not None else G.num_ws // 2
    if not 1 <= cutoff < G.num_ws:
        raise GrowganError(f"--mix-cutoff {cutoff}: must be between 1 and {G.num_ws - 1} (this G has {G.num_ws} ws)")
    g = torch.Generator().manual_seed(args.seed)
    z = torch.randn(2 * n, G.z_dim, generator=g).to(args.device)  # rows, then columns
    c = None
    if getattr(G, "c_dim", 0):
        label = args.class_index if args.class_index is not None else 0
        c = torch.full((2 * n,), label, dtype=torch.long, device=args.device)
    with torch.no_grad():
        ws = G.mapping(z, c, **kw)  # [2n, L, w_dim]
        rows, cols = ws[:n], ws[n:]
        mixed = G.mix_styles(rows.repeat_interleave(n, dim=0), cols.repeat(n, 1, 1), cutoff)  # row-major cells
        row_imgs, col_imgs = G.synthesis(rows).float().cpu(), G.synthesis(cols).float().cpu()
        cells = torch.cat([G.synthesis(mixed[i:i + 64]).float().cpu() for i in range(0, n * n, 64)])
    blank = torch.ones_like(row_imgs[:1])
    grid = [blank, *col_imgs]
    for i in range(n):
        grid += [row_imgs[i:i + 1].squeeze(0), *cells[i * n:(i + 1) * n]]
    imgs = torch.stack([t if t.dim() == 3 else t.squeeze(0) for t in grid])
    save_grid(imgs, out, ncols=n + 1, upscale=max(1, 64 // imgs.shape[-1]))
    print(f"wrote a {n + 1}x{n + 1} style mixing grid (crossover at w index {cutoff} of {G.num_ws}) to {out}")
    return 0
