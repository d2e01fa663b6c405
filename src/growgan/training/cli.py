"""Command-line entry points for this area (filled in by its issue)."""


def register(subparsers) -> None:
    """Add this area's sub-commands to the `growgan` parser."""
