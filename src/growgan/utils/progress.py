"""Progress bars (tqdm) for the long parts of growgan's commands.

Generation, feature extraction, SWD, MS-SSIM, DGGAN candidate scoring and training show a
bar on stderr. Bars are off when stderr is not a terminal (logs and pipes get no bar
noise) and when a command runs with ``--quiet`` (`set_enabled(False)`); they never change
any result. Bars do not stay on screen once their work is done (``leave=False``), so
nested bars (a metric inside a search step) do not pile up.
"""

from __future__ import annotations

import sys
from typing import Iterable

_enabled = True


def set_enabled(on: bool) -> None:
    """Turn every bar of this process on or off (the CLI's ``--quiet`` turns them off)."""
    global _enabled
    _enabled = bool(on)


def enabled() -> bool:
    """True when bars are allowed (`set_enabled`) and stderr is a terminal."""
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):  # closed or replaced stderr
        tty = False
    return _enabled and tty


def bar(iterable: Iterable | None = None, total: float | None = None, desc: str = "", unit: str = "it",
        disable: bool = False, **kw):
    """A tqdm bar (shown only when `enabled()` and not `disable`); use as tqdm."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable or not enabled(), leave=False,
                dynamic_ncols=True, **kw)
