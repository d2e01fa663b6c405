"""Training configuration: one dataclass, parsed strictly, JSON/YAML round trip, `key=value`
overrides.

Every schedule is expressed in kimg (thousands of real images shown to D), as in
stylegan2-ada-pytorch, so changing the batch size does not change what a setting means.
Every value, from a preset, a JSON or YAML file, ``--set`` or a converted zoo config, goes
through `parse_config`: converted to its field's type, checked against its range, and a bad
one is a one-line GrowganError naming the dotted key and what it needs.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from growgan.augment import AUGMENT_KINDS, DIFFAUG_POLICIES, check_policy
from growgan.errors import GrowganError
from growgan.losses import LOSS_KINDS
from growgan.networks.registry import canonical_spec, check_spec_shape, family_classes
from growgan.training.growth_config import GROWTH_KINDS, parse_growth
from growgan.training.task_config import TASK_KINDS, check_task_needs, parse_task
from growgan.utils.typed import parse_section, section_keys, setting

AMP_MODES = ("auto", "off", "bf16", "fp16")
_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass
class TrainConfig:
    """Everything that defines a training run; `to_dict`/`from_dict` round-trip through JSON."""

    name: str = setting("run", "used in the run folder name runs/NNNNN-<name>")
    network: dict = setting(factory=dict, help='network spec {"family", "G", "D"}')
    growth: dict | None = setting(None, 'null (fixed networks) or {"kind": "progan"|"dggan", ...}')
    task: dict | None = setting(None, 'null (generation: G(z, c)) or {"kind": "pix2pix", ...} (image-to-image, training/task.py)')
    # --- loss and regularisers (growgan.losses) ---
    loss: str = setting("nonsaturating", "adversarial loss", choices=LOSS_KINDS)
    n_critic: int = setting(1, "D steps per G step", ge=1)
    gp_lambda: float = setting(0.0, "WGAN-GP weight (0 = off)", ge=0)
    gp_target: float = setting(1.0, "WGAN-GP gradient-norm target t: lambda * (||grad|| - t)^2 / t^2 (ProGAN's CIFAR-10: 750)", gt=0)
    r1_gamma: float = setting(0.0, "R1 weight: loss += gamma/2 * ||grad D(x)||^2 (0 = off)", ge=0)
    r1_interval: int = setting(1, "lazy R1: every k D steps, scaled by k", ge=1)
    pl_weight: float = setting(0.0, "StyleGAN2 path-length regularisation weight (paper: 2; 0 = off; needs a stylegan2 G)", ge=0)
    pl_interval: int = setting(4, "lazy path-length regularisation: every k G steps, scaled by k", ge=1)
    pl_decay: float = setting(0.01, "decay of the running mean path length", gt=0, le=1)
    pl_batch_shrink: int = setting(2, "path-length batch = batch_size // pl_batch_shrink", ge=1)
    gdpp_weight: float = setting(0.0, "GDPP generator regulariser weight (Elfeki et al. 2019; needs D.features: stylegan2)", ge=0)
    drift_epsilon: float = setting(0.0, "ProGAN drift: epsilon * D(x)^2", ge=0)
    acgan_weight: float = setting(1.0, "weight of AC-GAN's classification loss on real and fake (D conditioning acgan)", ge=0)
    ortho_reg: float = setting(0.0, "BigGAN orthogonal regularisation of G's weights, beta (0 = off; paper 1e-4)", ge=0)
    clip_value: float = setting(0.0, "WGAN weight clipping of D's parameters to [-c, c] (0 = off)", ge=0)
    label_smoothing: float = setting(0.0, "one-sided: real target 1 - s", ge=0, lt=1)
    instance_noise: float = setting(0.0, "sigma of Gaussian noise on D's inputs, annealed to 0", ge=0)
    instance_noise_kimg: float = setting(0.0, "anneal the instance noise linearly over this many kimg (0 = constant)", ge=0)
    # --- augmentation of D's inputs (growgan.augment), for every family ---
    augment: str = setting("none", "none | diffaug (Zhao et al. 2020) | ada (Karras et al. 2020)", choices=AUGMENT_KINDS)
    diffaug_policy: list[str] = setting(factory=lambda: list(DIFFAUG_POLICIES), help="DiffAugment transforms: color, translation, cutout")
    ada_p: float = setting(0.0, "ADA: initial augmentation probability (fixed when ada_target is null)", ge=0, le=1)
    ada_target: float | None = setting(0.6, "ADA: target of r_t = E[sign(D(real))]; null = keep p fixed", gt=0, lt=1)
    ada_interval: int = setting(4, "ADA: adjust p every this many iterations (minibatches)", ge=1)
    ada_kimg: float = setting(500.0, "ADA: p can move from 0 to 1 in this many kimg", gt=0)
    # --- optimisers (Adam) ---
    lr_G: float = setting(2e-4, "Adam learning rate of G", gt=0)
    lr_D: float = setting(2e-4, "Adam learning rate of D", gt=0)
    betas_G: tuple[float, float] = setting((0.5, 0.999), "Adam betas of G", ge=0, lt=1)
    betas_D: tuple[float, float] = setting((0.5, 0.999), "Adam betas of D", ge=0, lt=1)
    adam_eps: float = setting(1e-8, "Adam epsilon", gt=0)
    lr_decay_start: float = setting(1.0, "after this fraction of kimg both learning rates fall linearly to 0 at the end (pix2pix/CycleGAN: 0.5; 1 = constant)", ge=0, le=1)
    # --- generator EMA (half-life in kimg, ramp-up as in stylegan2-ada) ---
    ema_kimg: float = setting(10.0, "G_ema half-life in kimg (0 = G_ema is a copy of G)", ge=0)
    ema_rampup: float | None = setting(0.05, "half-life <= rampup * images seen; null = no ramp-up", ge=0)
    # --- data and length ---
    batch_size: int = setting(64, "per rank; the global batch is batch_size * world size", ge=1)
    kimg: float = setting(200.0, "training length in kimg", gt=0)
    xflip: bool = setting(False, "random x-flips of the reals")
    seed: int = setting(0, "random seed (same seed, same run on CPU)", ge=0, lt=2**32)
    # --- speed ---
    device: str = setting("auto", "auto | cpu | cuda | cuda:N")
    amp: str = setting("auto", "mixed precision (auto: bf16/fp16 on CUDA, off on CPU)", choices=AMP_MODES)
    channels_last: bool = setting(False, "channels-last memory format")
    compile: bool = setting(False, "torch.compile the networks used in the step")
    # --- bookkeeping (kimg; 0 = never) ---
    log_kimg: float = setting(1.0, "console/stats.jsonl/TensorBoard interval and the non-finite check (kimg)", ge=0)
    grid_kimg: float = setting(5.0, "image grid interval (kimg; 0 = never)", ge=0)
    checkpoint_kimg: float = setting(10.0, "checkpoint interval (kimg; 0 = only at the end)", ge=0)
    keep_checkpoints: int = setting(3, "most recent checkpoints kept in a run folder", ge=1)
    grid_size: int = setting(64, "images in the fixed-latent grids", ge=1)
    tensorboard: bool = setting(True, "write TensorBoard events")
    report: bool = setting(True, "rewrite report.html (curves, grids, config) at each grid and at the end")
    metrics: list[str] = setting(factory=list, help="metric names evaluated during training (e.g. [swd])")
    metrics_every_kimg: float = setting(0.0, "metric interval (kimg; 0 = only at the end)", ge=0)
    metrics_num_images: int = setting(1000, "generated images per metric evaluation", ge=2)

    # ---------------------------------------------------------------- conversion
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["betas_G"], d["betas_D"] = list(self.betas_G), list(self.betas_D)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        return parse_config(d, source)

    def copy(self, **changes: Any) -> "TrainConfig":
        return parse_config({**self.to_dict(), **changes})

    def validate(self, source: str = "config") -> None:
        """Re-check a config built in code (``TrainConfig(...)``) as a parsed one would be."""
        parse_config(self.to_dict(), source)


def parse_config(d: Any, source: str = "config") -> TrainConfig:
    """The one config parser: a mapping -> TrainConfig, every value converted to its field's
    type and checked (the growth section against its kind's dataclass). Bad input ->
    GrowganError("<source>: <dotted.key>=<value> is not valid; <key> needs ...")."""
    values = parse_section(TrainConfig, d, "", source)
    values = copy.deepcopy(values)
    if "growth" in values:
        values["growth"] = parse_growth(values["growth"], source)
    if "task" in values:
        values["task"] = parse_task(values["task"], source)
    net = values.get("network")
    if net:
        check_spec_shape(net, source)
        values["network"] = canonical_spec(net)  # old spec key names -> current ones
    if "diffaug_policy" in values:
        check_policy(values["diffaug_policy"], f"{source}: diffaug_policy")
    _check_family_needs(values, net, source)
    check_task_needs(values, source)
    if "device" in values and not _DEVICE_RE.match(values["device"]):
        raise GrowganError(f"{source}: device={values['device']!r} is not valid; device needs auto, cpu, cuda or cuda:N")
    return TrainConfig(**values)


def _check_family_needs(values: dict, net: dict | None, source: str) -> None:
    """Regularisers that need an interface only some families have, refused before any work."""
    if not net:
        return
    G_cls, D_cls = family_classes(net["family"])
    if values.get("pl_weight", 0) > 0 and not hasattr(G_cls, "sample_ws"):
        raise GrowganError(f"{source}: pl_weight={values['pl_weight']} needs a style-based generator (the stylegan2 "
                           f"family), not {net['family']}; set pl_weight=0")
    if values.get("gdpp_weight", 0) > 0 and not hasattr(D_cls, "features"):
        raise GrowganError(f"{source}: gdpp_weight={values['gdpp_weight']} needs a discriminator with features() "
                           f"(the stylegan2 family), not {net['family']}; set gdpp_weight=0")


def config_keys(config: TrainConfig | None = None) -> list[tuple[str, str, Any, str]]:
    """(dotted key, type and range, default, one-line help) of every config key: the top
    level, the growth keys of `config`'s growth kind (or of every kind) and the task keys
    of its task kind (or of every kind)."""
    rows = [r for r in section_keys(TrainConfig)]
    kinds = [config.growth["kind"]] if config is not None and config.growth else list(GROWTH_KINDS)
    seen = {r[0] for r in rows}
    for kind in kinds:
        for row in section_keys(GROWTH_KINDS[kind], "growth"):
            if row[0] not in seen:
                rows.append(row)
                seen.add(row[0])
    tasks = [config.task["kind"]] if config is not None and config.task else list(TASK_KINDS)
    for kind in tasks:
        for row in section_keys(TASK_KINDS[kind], "task"):
            if row[0] not in seen:
                rows.append(row)
                seen.add(row[0])
    return rows


def config_key_table(config: TrainConfig | None = None) -> list[tuple[str, str, Any, str]]:
    """`growgan train [--preset P] --show-keys`: (dotted key, type, value, one-line help) of
    every key of `config` (a preset's resolved config), or of the defaults when None.

    The rows come from the dataclasses (`config_keys`; the value is `config`'s, so a preset
    shows its own settings), then, for a config with a network, one row per key of its
    network spec (``network.G.z_dim`` ...), typed by its value; null ones are filled in from
    the training archive."""
    values = config.to_dict() if config is not None else None
    rows = []
    for key, typ, default, text in config_keys(config):
        value = default
        if values is not None:
            node: Any = values
            for part in key.split("."):
                node = node.get(part, default) if isinstance(node, dict) else default
            value = node
        if key == "network" and values is not None and value:
            value = f"{value.get('family')} (network.* below)"
        rows.append((key, typ, value, text))
    net = values.get("network") if values is not None else None
    for part in ("G", "D"):
        for k, v in sorted(((net or {}).get(part) or {}).items()):
            what = "filled in from the training archive" if v is None else "network spec key"
            rows.append((f"network.{part}.{k}", _value_type(v), v, f"{net['family']} {part}: {what}"))
    return rows


def _value_type(v: Any) -> str:
    if v is None:
        return "null (from the data)"
    if isinstance(v, bool):
        return "true or false"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (list, tuple)):
        return "a list"
    return "a mapping"


def _parse_value(text: str) -> Any:
    """A command-line value: JSON when it parses (numbers, lists, dicts, true/null), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def apply_overrides(config: TrainConfig, overrides: list[str]) -> TrainConfig:
    """Apply `key=value` strings; dotted keys reach into dicts (`network.G.z_dim=64`)."""
    d = config.to_dict()
    for item in overrides:
        if "=" not in item:
            raise GrowganError(f"--set {item!r}: expected key=value, e.g. --set lr_G=0.001")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        if parts[0] not in d:
            raise GrowganError(f"--set {key}: unknown config key {parts[0]!r}; see growgan train --dry-run for the keys")
        target = d
        for i, p in enumerate(parts[:-1]):
            if target.get(p) is None:
                target[p] = {}
            if not isinstance(target[p], dict):
                raise GrowganError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a mapping")
            target = target[p]
        target[parts[-1]] = _parse_value(text)
    return parse_config(d, source="--set")


def load_config_file(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    """Read a JSON or YAML file; its keys override `base` (or the defaults)."""
    path = Path(path)
    if not path.is_file():
        raise GrowganError(f"{path}: config file not found; give a .json or .yaml file")
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise GrowganError(f"{path}: cannot parse config ({type(exc).__name__}: {str(exc).splitlines()[0]}); fix the syntax") from None
    if not isinstance(data, dict):
        raise GrowganError(f"{path}: a config file must hold a mapping of keys to values")
    merged = {**(base or TrainConfig()).to_dict(), **data}
    return parse_config(merged, source=str(path))
