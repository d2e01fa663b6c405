"""`growgan report`: one self-contained HTML page of a run or DGGAN search folder.

    growgan report runs/00000-progan-mnist-32                 # -> runs/00000-progan-mnist-32/report.html
    growgan report runs/00001-dggan-mnist-32 --out dggan.html
"""

from __future__ import annotations

# the report module (torch, matplotlib) is imported in cmd_report: `growgan --help` stays fast.


def register(subparsers) -> None:
    """Add `report` to the `growgan` parser."""
    p = subparsers.add_parser("report", help="write a run's (or search's) HTML report: curves, grids, tree, metrics")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", help="output .html file (default RUN_DIR/report.html)")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from growgan.training.report import write_report
    from growgan.utils.io import check_out_file

    if args.out:
        check_out_file(args.out, "--out")
    path = write_report(args.run_dir, args.out)
    print(f"wrote {path}")
    return 0
