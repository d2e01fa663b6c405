"""Growing networks: the single source of truth for a model whose architecture changes.

The training loop knows growth only through the `Growth` protocol (beside `TrainState` in
`growgan.training.state`) and receives its controller from its caller: `build_trainer`
hands it `make_growth` and the metrics evaluator. A controller owns the schedule (a pure
function of images seen), writes the typed `GrowthState` of ``TrainState.growth``, and
applies grow operations through `growgan.growth.inherit.regrow`, which replaces G, G_ema,
D and both optimizers together. A new growth kind: a controller module here, its config
dataclass in `growgan.training.growth_config.GROWTH_KINDS`, and one line in `make_growth`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from growgan.errors import GrowganError
from growgan.growth.dggan import DGGrowth
from growgan.growth.progan import ProGrowth
from growgan.metrics import evaluate_generator
from growgan.training.config import TrainConfig
from growgan.training.loop import Trainer
from growgan.training.report import RunReporter
from growgan.training.state import Growth, TrainState

__all__ = ["Growth", "TrainState", "build_trainer", "make_growth", "evaluator"]

# growth kind -> controller class (each has from_config(config))
_CONTROLLERS = {
    "progan": ProGrowth,
    "dggan": DGGrowth,
}


def make_growth(config: TrainConfig) -> Growth | None:
    """The growth controller that ``config.growth`` asks for, or None for a fixed network."""
    growth_cfg = config.growth
    if not growth_cfg:
        return None
    kind = growth_cfg.get("kind")
    if kind not in _CONTROLLERS:
        raise GrowganError(f"unknown growth kind {kind!r} in the config; use one of {', '.join(_CONTROLLERS)}")
    return _CONTROLLERS[kind].from_config(config)


# The training loop's periodic evaluator: {metric name: {key: value}} (one metric-<name>.jsonl each).
# At the archive's resolution: a growing G is scored on the same footing at every stage, and
# a metric that needs a minimum size (SWD's 16 px pyramid) never stops a run at 4x4.
evaluator = partial(evaluate_generator, grouped=True, at_archive_resolution=True)


def build_trainer(config: TrainConfig, data: str | Path | Any, **kwargs: Any) -> Trainer:
    """A `Trainer` with its plug-ins: the growth controller of ``config.growth``, the
    metrics evaluator and the report writer (report.html). Keyword arguments are the Trainer's (state, run_dir, resume, ...)."""
    kwargs.setdefault("make_growth", make_growth)
    kwargs.setdefault("evaluator", evaluator)
    kwargs.setdefault("reporter", RunReporter())
    return Trainer(config, data, **kwargs)
