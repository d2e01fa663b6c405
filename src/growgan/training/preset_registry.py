"""The table of named presets (the bottom of the preset modules; `presets.py` reads it).

A preset is a function returning a fresh `TrainConfig`; a family's preset module decorates
it with ``@register_preset("name")`` and is imported once by `growgan.training.presets`.
"""

from __future__ import annotations

from typing import Callable

from growgan.training.config import TrainConfig

PRESETS: dict[str, Callable[[], TrainConfig]] = {}


def register_preset(name: str) -> Callable[[Callable[[], TrainConfig]], Callable[[], TrainConfig]]:
    """Decorator: ``@register_preset("dcgan-32") def f() -> TrainConfig``."""

    def deco(fn: Callable[[], TrainConfig]) -> Callable[[], TrainConfig]:
        PRESETS[name] = fn
        return fn

    return deco
