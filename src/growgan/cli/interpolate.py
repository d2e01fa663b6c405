"""`growgan interpolate`: a latent walk of a run's generator as a GIF or MP4.

    growgan interpolate runs/00000-progan-mnist-32 --out walk.gif --frames 60 --seed 3
    growgan interpolate runs/00000-progan-mnist-32 --out walk.mp4 --num 16 --fps 30
    growgan interpolate runs/00000-stylegan2-mnist-32 --out walk.mp4 --num 16   # linear in W
    growgan interpolate runs/00000-stylegan2-mnist-32 --out walk.mp4 --space z  # slerp in Z

The walk is linear in W for style-based generators (stylegan2, stylegan) and spherical in Z
otherwise (--space auto); see growgan.training.walk.
"""

from __future__ import annotations

import math
from pathlib import Path

from growgan.errors import GrowganError
from growgan.utils.device import add_device_argument
from growgan.utils.formats import VIDEO_FORMATS as FORMATS
from growgan.utils.threads import add_threads_argument

# torch and the library are imported in cmd_interpolate: `growgan --help` stays fast.


def register(subparsers) -> None:
    """Add `interpolate` to the `growgan` parser."""
    p = subparsers.add_parser("interpolate", help="latent walk (linear in W for StyleGAN families, else slerp in Z) "
                              "of a run's generator as .gif or .mp4")
    p.add_argument("source", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--out", required=True, help="walk.gif or walk.mp4")
    p.add_argument("--frames", type=int, default=60, help="frames from G(z0) to G(z1), both included (default 60)")
    p.add_argument("--num", type=int, default=1, help="walks shown side by side as a grid (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the endpoints z0, z1 (default 0)")
    p.add_argument("--fps", type=float, default=24.0, help="frames per second (default 24)")
    p.add_argument("--upscale", type=int, default=None, help="magnify each image (default: to >= 256 px wide)")
    p.add_argument("--space", choices=("auto", "w", "z"), default="auto",
                   help="auto (default): linear in W for a style-based G (stylegan2, stylegan), else slerp in Z")
    p.add_argument("--trunc", type=float, default=1.0, metavar="PSI",
                   help="truncation psi of W walks (default 1: none)")
    p.add_argument("--class", dest="class_index", type=int, default=None,
                   help="label for a conditional generator (default 0)")
    p.add_argument("--raw", action="store_true", help="walk the raw generator instead of G_ema")
    add_device_argument(p)
    add_threads_argument(p)
    p.set_defaults(func=cmd_interpolate)


def cmd_interpolate(args) -> int:
    from growgan.training.checkpoint import load_generator
    from growgan.training.walk import walk_frames, walk_space, write_video
    from growgan.utils.device import device_argument
    from growgan.utils.io import check_out_file

    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise GrowganError(f"--out {out}: give a .gif or .mp4 file name")
    if not 0 < args.fps < math.inf:  # NaN made a traceback in the GIF writer
        raise GrowganError(f"--fps {args.fps}: must be > 0")
    if args.upscale is not None and args.upscale < 1:
        raise GrowganError(f"--upscale {args.upscale}: must be >= 1")
    args.device = device_argument(args)
    check_out_file(out, "--out")
    G = load_generator(args.source, ema=not args.raw, device=args.device)
    width = int(G.img_resolution[1] if not isinstance(G.img_resolution, int) else G.img_resolution)
    upscale = args.upscale or max(1, 256 // max(width * max(1, round(args.num ** 0.5)), 1))
    space = walk_space(G, args.space)
    frames = walk_frames(G, frames=args.frames, num=args.num, seed=args.seed, class_index=args.class_index,
                         upscale=upscale, space=space, truncation_psi=args.trunc,
                         device=args.device)
    write_video(frames, out, fps=args.fps)
    how = "linear in W" if space == "w" else "slerp in Z"
    print(f"wrote {len(frames)} frames ({frames.shape[2]}x{frames.shape[1]}, {how}) to {out}")
    return 0
