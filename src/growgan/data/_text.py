"""Message helpers: user errors are one line, even when they quote a library's exception."""

from __future__ import annotations


def brief(exc: BaseException, limit: int = 160) -> str:
    """`exc` as one short line (whitespace collapsed, cut at `limit` characters)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
