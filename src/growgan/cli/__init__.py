"""The `growgan` command line: a thin layer over the library (argparse and printing only).

One module per command; each exposes ``register(subparsers)`` which adds its sub-commands
and sets ``func`` on them; ``func(args) -> int | None`` does the work. User errors are
`GrowganError`s, printed as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from growgan import __version__
from growgan.cli import dataset, export, generate, interpolate, metrics, presets, report, search, train, translate
from growgan.errors import GrowganError
from growgan.utils.io import is_write_error, write_error

# Modules that add sub-commands, in the order they appear in --help.
COMMAND_MODULES = (dataset, train, generate, translate, metrics, search, export, report, interpolate, presets)


class OneLineParser(argparse.ArgumentParser):
    """argparse with a one-line usage error (exit status 2), as every other growgan error: the
    mistake and where the options are listed, not the whole usage block. Sub-command parsers
    are made from the same class (argparse's add_subparsers default)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="growgan",
        description="Train, grow and evaluate GANs (DGGAN, Progressive GAN, DCGAN, ...).",
    )
    parser.add_argument("--version", action="version", version=f"growgan {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = metrics.route_subcommand(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if getattr(args, "quiet", False):
            from growgan.utils.progress import set_enabled

            set_enabled(False)
        if hasattr(args, "threads"):  # a command that computes: set torch's threads before it starts
            from growgan.utils.threads import apply_threads

            apply_threads(args.threads)
        return int(args.func(args) or 0)
    except GrowganError as exc:
        print(f"growgan: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `growgan dataset info A | head -1`
        sys.stderr.close()
        return 0
    except OSError as exc:  # a full disk or read-only place that a library layer did not name
        if not is_write_error(exc):
            raise
        print(f"growgan: error: {write_error(exc, exc.filename or 'a file')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("growgan: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
