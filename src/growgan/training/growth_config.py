"""The ``growth`` section of a config, one dataclass per growth kind, parsed strictly at
config time (so ``--dry-run`` refuses a misspelled ``growth.*`` key). The controllers in
`growgan.growth` read these; they live here so that parsing a config needs nothing above
`growgan.training`. Lengths are in kimg; per-resolution tables use string keys ("32").
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from growgan.errors import GrowganError
from growgan.networks.progan import stage_resolution
from growgan.utils.typed import parse_section, section_keys, setting
from growgan.utils.units import kimg_to_images


@dataclass
class ProGrowthConfig:
    """``config.growth`` for kind "progan" (Karras et al. 2018)."""

    target_resolution: int = setting(32, "side length of the last stage, 4 * 2**k", ge=4)
    stabilise_kimg: float | list[float] = setting(800.0, "kimg per stage (or a list, one per stage)", ge=0)
    fade_kimg: float | list[float] = setting(800.0, "fade-in kimg per stage (entry 0 unused), or a list", ge=0)
    alpha_jumps: int | list[int] = setting(0, "0: alpha continuous; n > 0: alpha moves in n equal jumps", ge=0)
    batch_sizes: dict[str, int] = setting(factory=dict, help='per-rank minibatch per resolution {"4": 128, ...}', ge=1)
    lr_G: dict[str, float] = setting(factory=dict, help='G learning rate per resolution {"128": 0.0015}', gt=0)
    lr_D: dict[str, float] = setting(factory=dict, help="D learning rate per resolution", gt=0)
    reset_optimizers: bool = setting(True, "reset Adam state when the network changes (official behaviour)")

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "ProGrowthConfig":
        d = {k: v for k, v in d.items() if k != "kind"}
        cfg = cls(**parse_section(cls, d, "growth", source))
        cfg.validate(source)
        return cfg

    def to_dict(self) -> dict:
        return {"kind": "progan", **dataclasses.asdict(self)}

    @property
    def num_stages(self) -> int:
        return int(round(math.log2(self.target_resolution / 4))) + 1

    def validate(self, source: str = "config") -> None:
        r = self.target_resolution
        if stage_resolution(self.num_stages - 1) != r:
            raise GrowganError(f"{source}: growth.target_resolution={r!r} must be 4 * 2**k (4, 8, 16, 32, ...)")
        for name in ("stabilise_kimg", "fade_kimg", "alpha_jumps"):
            self._per_stage(name, source)
        for name in ("batch_sizes", "lr_G", "lr_D"):
            for key in getattr(self, name):
                if not str(key).isdigit():
                    raise GrowganError(f'{source}: growth.{name} keys are resolutions such as "32", got {key!r}')

    def _per_stage(self, name: str, source: str = "config") -> list:
        v = getattr(self, name)
        if isinstance(v, (list, tuple)):
            if len(v) < self.num_stages:
                raise GrowganError(f"{source}: growth.{name} lists {len(v)} values but {self.num_stages} stages reach "
                                   f"{self.target_resolution}px; give one per stage")
            return list(v[: self.num_stages])
        return [v] * self.num_stages

    def per_stage_images(self) -> tuple[list[int], list[int], list[int]]:
        """(stabilise images, fade images, alpha jumps) per stage, as integers."""
        stab = [kimg_to_images(k) for k in self._per_stage("stabilise_kimg")]
        fade = [kimg_to_images(k) for k in self._per_stage("fade_kimg")]
        fade[0] = 0
        return stab, fade, [int(j) for j in self._per_stage("alpha_jumps")]


@dataclass
class SearchConfig:
    """``config.growth.search``: the DGGAN architecture search (Liu et al. 2021). CPU-sized defaults."""

    K: int = setting(2, "architectures kept per step (the paper: 20)", ge=1)
    p: float = setting(0.5, "probability of sampling each action of the action space", gt=0, le=1)
    kernels: list[int] = setting(factory=lambda: [1, 3, 5], help="conv kernel sizes a new layer may have", ge=1)
    widths: list[int] = setting(factory=lambda: [8, 16], help="channel counts a new layer may have", ge=1)
    max_layers_per_stage: int = setting(3, "a stage is full at this many conv layers", ge=1)
    max_children: int = setting(4, "children per parent (0 = no cap)", ge=0)
    candidate_kimg: float = setting(2.0, "T: kimg each child trains before it is scored", gt=0)
    target_resolution: int = setting(32, "the search grows up to this side length", ge=4)
    steps_per_resolution: int = setting(2, "after this many steps at a resolution, grow the resolution", ge=1)
    search_kimg: float = setting(0.0, "search on until the survivors have seen this many kimg", ge=0)
    max_steps: int = setting(50, "at most this many growing steps", ge=1)
    final_kimg: float = setting(30.0, "the best trains on until it has seen this many kimg in all", ge=0)
    include_parents: bool = setting(False, "parents compete with their children for the K places")
    metric: str = setting("swd", "selection metric (swd, fid-classifier, fid, kid, ...); lower is better")
    classifier: str | None = setting(None, "network file for the *-classifier metrics")
    inception_weights: str | None = setting(None, "Inception weights for fid/kid")
    eval_images: int = setting(512, "images generated to score a candidate", ge=2)
    eval_seed: int = setting(123, "seed of the scoring latents", ge=0)
    seed: int = setting(0, "proposals and new-layer init (defaults to the run's seed)", ge=0)

    @classmethod
    def from_dict(cls, d: dict | None, source: str = "config") -> "SearchConfig":
        return cls(**parse_section(cls, dict(d or {}), "growth.search", source))


@dataclass
class DGGrowthConfig:
    """``config.growth`` for kind "dggan" (Liu et al. 2021): a replayable growth history."""

    fade_kimg: float = setting(2.0, "length of each action's linear fade-in (kimg)", ge=0)
    history: list[dict[str, Any]] = setting(factory=list, help='actions with "op" and "at" (images seen)')
    batch_sizes: dict[str, int] = setting(factory=dict, help='per-rank minibatch per resolution {"16": 32}', ge=1)
    search: dict | None = setting(None, "the architecture search settings", section=SearchConfig)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "DGGrowthConfig":
        d = {k: v for k, v in d.items() if k != "kind"}
        cfg = cls(**parse_section(cls, d, "growth", source))
        for a in cfg.history:
            if "op" not in a or "at" not in a or isinstance(a["at"], bool) or not isinstance(a["at"], int):
                raise GrowganError(f"{source}: growth.history entry {a} needs 'op' and an integer 'at' (images seen)")
        cfg.history = sorted((dict(a) for a in cfg.history), key=lambda a: int(a["at"]))
        cfg.batch_sizes = {str(k): int(v) for k, v in cfg.batch_sizes.items()}
        return cfg


GROWTH_KINDS: dict[str, type] = {"progan": ProGrowthConfig, "dggan": DGGrowthConfig}


def parse_growth(growth: Any, source: str = "config") -> dict | None:
    """Check ``config.growth`` (None or {"kind": ..., ...}) against its kind's dataclass;
    returns it with every present value converted to its type (absent keys stay absent)."""
    if growth is None:
        return None
    if not isinstance(growth, dict):
        raise GrowganError(f"{source}: growth={growth!r:.60} needs null or a mapping with a 'kind' (progan, dggan)")
    kind = growth.get("kind")
    if kind not in GROWTH_KINDS:
        raise GrowganError(f"{source}: growth.kind={kind!r} is not valid; growth.kind needs one of {', '.join(GROWTH_KINDS)}")
    cls = GROWTH_KINDS[kind]
    rest = {k: v for k, v in growth.items() if k != "kind"}
    converted = parse_section(cls, rest, "growth", source)
    cls.from_dict(growth, source)  # cross-field checks (stage counts, history entries)
    return {"kind": kind, **converted}


def growth_keys(kind: str) -> list[tuple[str, str, Any, str]]:
    """(dotted key, type, default, help) of every ``growth.*`` key of a growth kind."""
    return section_keys(GROWTH_KINDS[kind], "growth")

