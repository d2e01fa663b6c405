"""`resolve_config`: the one path from what a user gives to a checked TrainConfig, used by
`growgan train` (new runs and --resume) and `growgan search`.

Order: base (a checkpoint's config on resume) or preset or zoo config or the defaults ->
config file -> network spec file (--arch) -> ``--set`` overrides -> seed -> kimg -> name.
Each stage is parsed by `growgan.training.config.parse_config`, so a bad value is refused
before anything is created.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from growgan.errors import GrowganError
from growgan.networks.registry import check_spec_shape
from growgan.training.config import TrainConfig, apply_overrides, load_config_file
from growgan.training.presets import get_preset
from growgan.training.zoo_config import config_from_zoo_json
from growgan.utils.io import read_json


def resolve_config(base: TrainConfig | None = None, preset: str | None = None, zoo_config: str | None = None,
                   config_file: str | None = None, arch: str | None = None, overrides: Sequence[str] = (),
                   seed: int | None = None, kimg: float | None = None, name: str | None = None) -> TrainConfig:
    """base/preset/zoo -> file -> arch -> --set -> seed -> kimg -> name; see the module doc.
    A seed also becomes the seed of a DGGAN search section (proposals, new layers), so one
    --seed drives a whole search. kimg must be > 0 (a GrowganError otherwise)."""
    if base is not None:
        config = base
    elif zoo_config:
        config = config_from_zoo_json(zoo_config)
    else:
        config = get_preset(preset) if preset else TrainConfig()
    if config_file:
        config = load_config_file(config_file, base=config)
    if arch:
        config = config.copy(network=read_spec(arch), growth=None)
    if overrides:
        config = apply_overrides(config, list(overrides))
    changes: dict = {}
    if seed is not None:
        changes["seed"] = seed
        if config.growth and config.growth.get("kind") == "dggan":
            changes["growth"] = dict(config.growth, search={**(config.growth.get("search") or {}), "seed": seed})
    if kimg is not None:
        changes["kimg"] = kimg
    if name:
        changes["name"] = name
    if changes:
        try:
            config = config.copy(**changes)
        except GrowganError as exc:  # name the option, not the config key
            msg = str(exc).split(": ", 1)[-1]
            for key in ("kimg", "seed", "name"):
                msg = msg.replace(f"{key}=", f"--{key} ").replace(f"; {key} needs", f"; --{key} needs")
            raise GrowganError(f"command line: {msg}") from None
    return config


def read_spec(path: str | Path) -> dict:
    """A network spec JSON file ({"family", "G", "D"}, e.g. a search's best_spec.json)."""
    p = Path(path)
    spec = read_json(p, "network spec file not found", "give a network spec {'family','G','D'}")
    check_spec_shape(spec, str(p))
    return spec
