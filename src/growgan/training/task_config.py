"""The ``task`` section of a config: what kind of GAN training a run does, one dataclass per
task kind, parsed strictly at config time (so ``--dry-run`` refuses a misspelled ``task.*``
key), as the ``growth`` section is (`growgan.training.growth_config`).

``task: null`` is generation (unconditional or conditional ``G(z, c)``, every family of the
zoo); a mapping ``{"kind": ..., ...}`` names an image-to-image task. The task objects that
read these live in `growgan.training.task` (the contract) and `training/task_<kind>.py`.
A new task kind adds its dataclass here and one entry in ``TASK_KINDS``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from growgan.errors import GrowganError
from growgan.utils.typed import parse_section, section_keys, setting

NORMS = ("batch", "instance")


@dataclass
class Pix2PixConfig:
    """``config.task`` for kind "pix2pix" (Isola et al., CVPR 2017): paired translation A -> B
    with loss = GAN(D(A, G(A))) + l1_lambda * |B - G(A)|_1."""

    # engine settings the pix2pix steps do not implement (refused when set, at config time)
    unsupported: ClassVar[dict[str, Any]] = {
        "gp_lambda": 0, "r1_gamma": 0, "drift_epsilon": 0, "pl_weight": 0, "gdpp_weight": 0, "ortho_reg": 0,
        "clip_value": 0, "instance_noise": 0, "augment": "none", "growth": None}

    # periodic metrics a run of this task cannot compute (refused at config time, not after training)
    refused_metrics: ClassVar[dict[str, str]] = {
        "cycle-error": "needs a two-way run (task.kind=cyclegan); pix2pix maps A -> B only, use l1"}

    l1_lambda: float = setting(100.0, "weight of the L1 distance between G(A) and the paired target B (paper: 100)", ge=0)
    crop: list[int] | None = setting(None, "joint random crop [H, W] of A and B before G (null = the archive's size)", ge=1)
    jitter: int = setting(0, "pix2pix random jitter: resize both sides up by this many pixels, then crop back (0 = off)", ge=0)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "Pix2PixConfig":
        d = {k: v for k, v in d.items() if k != "kind"}
        cfg = cls(**parse_section(cls, d, "task", source))
        if cfg.crop is not None and len(cfg.crop) != 2:
            raise GrowganError(f"{source}: task.crop={cfg.crop!r} is not valid; task.crop needs [H, W] or null")
        return cfg

    def to_dict(self) -> dict:
        return {"kind": "pix2pix", **dataclasses.asdict(self)}


# kind -> its config dataclass (each has from_dict(d, source) and to_dict())
TASK_KINDS: dict[str, type] = {"pix2pix": Pix2PixConfig}


@dataclass
class CycleGANConfig:
    """``config.task`` for kind "cyclegan" (Zhu et al., ICCV 2017): unpaired translation A <-> B
    with LSGAN + cycle_lambda * cycle + cycle_lambda * identity_lambda * identity losses and a
    history pool of pool_size fakes per D (`training/task_cyclegan.py`)."""

    # engine settings the cyclegan steps do not implement (refused when set, at config time);
    # its adversarial loss is LSGAN, as the paper's
    unsupported: ClassVar[dict[str, Any]] = {**Pix2PixConfig.unsupported, "loss": "lsgan", "label_smoothing": 0}
    refused_metrics: ClassVar[dict[str, str]] = {}

    cycle_lambda: float = setting(10.0, "weight of the cycle-consistency L1 losses |G_BA(G_AB(a)) - a|, |G_AB(G_BA(b)) - b| (paper: 10)", ge=0)
    identity_lambda: float = setting(0.5, "identity loss weight as a fraction of cycle_lambda (paper: 0.5; 0 = off; needs equal channels in A and B)", ge=0)
    pool_size: int = setting(50, "generated images kept per D in the history pool (paper: 50; 0 = newest fakes only)", ge=0)

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "CycleGANConfig":
        d = {k: v for k, v in d.items() if k != "kind"}
        return cls(**parse_section(cls, d, "task", source))

    def to_dict(self) -> dict:
        return {"kind": "cyclegan", **dataclasses.asdict(self)}


TASK_KINDS["cyclegan"] = CycleGANConfig


def parse_task(task: Any, source: str = "config") -> dict | None:
    """Check ``config.task`` (None = generation, or {"kind": ..., ...}) against its kind's
    dataclass; returns it with every present value converted (absent keys stay absent)."""
    if task is None:
        return None
    if not isinstance(task, dict):
        raise GrowganError(f"{source}: task={task!r:.60} needs null (generation) or a mapping with a 'kind' "
                           f"({', '.join(TASK_KINDS)})")
    kind = task.get("kind")
    if kind not in TASK_KINDS:
        raise GrowganError(f"{source}: task.kind={kind!r} is not valid; task.kind needs one of {', '.join(TASK_KINDS)} "
                           "(or task: null for generation)")
    cls = TASK_KINDS[kind]
    rest = {k: v for k, v in task.items() if k != "kind"}
    converted = parse_section(cls, rest, "task", source)
    cls.from_dict(task, source)  # cross-field checks
    return {"kind": kind, **converted}


# metrics of translation runs (growgan.metrics.translation), which a generation run cannot compute
GENERATION_REFUSED_METRICS = {
    name: "scores a translation run (pix2pix/cyclegan outputs against their targets or round trips)"
    for name in ("l1", "ms-ssim-paired", "cycle-error")}


def check_task_needs(values: dict, source: str = "config") -> None:
    """Refuse engine settings the config's task does not implement, and a network family of
    the other contract (latent G for a translation task, image G for generation)."""
    from growgan.networks.registry import family_classes

    task, net = values.get("task"), values.get("network")
    refused = TASK_KINDS[task["kind"]].refused_metrics if task else GENERATION_REFUSED_METRICS
    for name in values.get("metrics") or []:
        why = refused.get(str(name).strip().lower().replace("_", "-"))
        if why:
            raise GrowganError(f"{source}: metrics: {name} {why}; remove it from metrics")
    if task:
        for key, off in TASK_KINDS[task["kind"]].unsupported.items():
            if values.get(key, off) != off:
                raise GrowganError(f"{source}: {key}={values[key]!r} is not supported by task.kind={task['kind']}; "
                                   f"set {key}={'null' if off is None else off!r}")
    if not net:
        return
    image = getattr(family_classes(net["family"])[0], "input_kind", "latent") == "image"
    if task and not image:
        raise GrowganError(f"{source}: task.kind={task['kind']} translates images but the {net['family']} family "
                           "generates from latents; use an image-to-image family (pix2pix) or set task=null")
    if not task and image:
        raise GrowganError(f"{source}: the {net['family']} family translates images; set task.kind (e.g. "
                           "--preset pix2pix-edges2fashion) or use a generation family")


def task_settings(task: dict | None, source: str = "config"):
    """The dataclass of a parsed ``config.task`` with defaults filled in, or None for generation."""
    if task is None:
        return None
    return TASK_KINDS[task["kind"]].from_dict(task, source)


def task_keys(kind: str) -> list[tuple[str, str, Any, str]]:
    """(dotted key, type, default, help) of every ``task.*`` key of a task kind."""
    return section_keys(TASK_KINDS[kind], "task")
