"""Training configuration: one dataclass, JSON/YAML round trip, `key=value` overrides.

Every schedule is expressed in kimg (thousands of real images shown to D), as in
stylegan2-ada-pytorch, so changing the batch size does not change what a setting means.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from growgan.errors import GrowganError

AMP_MODES = ("auto", "off", "bf16", "fp16")


@dataclass
class TrainConfig:
    """Everything that defines a training run; `to_dict`/`from_dict` round-trip through JSON."""

    name: str = "run"  # used in the run folder name runs/NNNNN-<name>
    network: dict = field(default_factory=dict)  # network spec {"family", "G", "D"}
    growth: dict | None = None  # None (fixed nets) or {"kind": "progan"|"dggan", ...}
    # --- loss and regularisers (growgan.losses) ---
    loss: str = "nonsaturating"  # nonsaturating | minimax | wgan | hinge | lsgan | relativistic
    n_critic: int = 1  # D steps per G step
    gp_lambda: float = 0.0  # WGAN-GP weight (0 = off)
    gp_target: float = 1.0  # WGAN-GP gradient-norm target: lambda * (||grad|| - t)^2 / t^2 (ProGAN CIFAR-10: 750)
    r1_gamma: float = 0.0  # R1 weight: loss += gamma/2 * ||grad D(x)||^2 (0 = off)
    r1_interval: int = 1  # lazy R1: every k D steps, scaled by k
    drift_epsilon: float = 0.0  # ProGAN drift: epsilon * D(x)^2
    clip_value: float = 0.0  # WGAN weight clipping of D's parameters to [-c, c] (0 = off)
    label_smoothing: float = 0.0  # one-sided: real target 1 - s
    instance_noise: float = 0.0  # sigma of Gaussian noise on D's inputs, annealed to 0
    instance_noise_kimg: float = 0.0  # ... linearly over this many kimg (0 = constant)
    # --- optimisers (Adam) ---
    lr_G: float = 2e-4
    lr_D: float = 2e-4
    betas_G: tuple[float, float] = (0.5, 0.999)
    betas_D: tuple[float, float] = (0.5, 0.999)
    adam_eps: float = 1e-8
    # --- generator EMA (half-life in kimg, ramp-up as in stylegan2-ada) ---
    ema_kimg: float = 10.0  # 0 = G_ema is a copy of G
    ema_rampup: float | None = 0.05  # half-life <= rampup * images seen; None = no ramp-up
    # --- data and length ---
    batch_size: int = 64  # per rank; the global batch is batch_size * world size
    kimg: float = 200.0  # default training length
    xflip: bool = False
    seed: int = 0
    # --- speed ---
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: str = "auto"  # auto (bf16/fp16 on CUDA, off on CPU) | off | bf16 | fp16
    channels_last: bool = False
    compile: bool = False  # torch.compile the networks used in the step
    # --- bookkeeping (kimg; 0 = never) ---
    log_kimg: float = 1.0  # console/stats.jsonl/TensorBoard scalars and the non-finite check
    grid_kimg: float = 5.0
    checkpoint_kimg: float = 10.0
    keep_checkpoints: int = 3  # most recent checkpoints kept in a run folder
    grid_size: int = 64  # images in the fixed-latent grids
    tensorboard: bool = True
    metrics: list = field(default_factory=list)  # names for growgan.metrics.evaluate_generator
    metrics_every_kimg: float = 0.0
    metrics_num_images: int = 1000

    # ---------------------------------------------------------------- conversion
    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["betas_G"], d["betas_D"] = list(self.betas_G), list(self.betas_D)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise GrowganError(f"{source}: unknown config keys {', '.join(unknown)}; known keys: {', '.join(sorted(known))}")
        d = copy.deepcopy(dict(d))
        for k in ("betas_G", "betas_D"):
            if k in d:
                d[k] = tuple(float(b) for b in d[k])
        cfg = cls(**d)
        cfg.validate(source)
        return cfg

    def copy(self, **changes: Any) -> "TrainConfig":
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def validate(self, source: str = "config") -> None:
        if self.amp not in AMP_MODES:
            raise GrowganError(f"{source}: amp={self.amp!r} is not one of {', '.join(AMP_MODES)}")
        if self.batch_size < 1 or self.n_critic < 1 or self.r1_interval < 1:
            raise GrowganError(f"{source}: batch_size, n_critic and r1_interval must be >= 1")
        for k in ("betas_G", "betas_D"):
            if len(getattr(self, k)) != 2:
                raise GrowganError(f"{source}: {k} needs two numbers, e.g. [0.5, 0.999]")
        if not self.gp_target > 0:
            raise GrowganError(f"{source}: gp_target must be > 0 (1 for WGAN-GP, 750 for ProGAN's CIFAR-10), got {self.gp_target}")
        if self.metrics and self.metrics_every_kimg < 0:
            raise GrowganError(f"{source}: metrics_every_kimg must be >= 0")


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
            raise GrowganError(f"--set {key}: unknown config key {parts[0]!r}; see --dry-run for the keys")
        target = d
        for p in parts[:-1]:
            if not isinstance(target.get(p), dict):
                target[p] = {} if target.get(p) is None else target[p]
                if not isinstance(target[p], dict):
                    raise GrowganError(f"--set {key}: {p!r} is not a dict")
            target = target[p]
        target[parts[-1]] = _parse_value(text)
    return TrainConfig.from_dict(d, source="--set")


def load_config_file(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    """Read a JSON or YAML file; its keys override `base` (or the defaults)."""
    path = Path(path)
    if not path.is_file():
        raise GrowganError(f"{path}: config file not found; give a .json or .yaml file")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise GrowganError(f"{path}: cannot parse config ({type(exc).__name__}: {str(exc).splitlines()[0]}); fix the syntax") from None
    if not isinstance(data, dict):
        raise GrowganError(f"{path}: a config file must hold a mapping of keys to values")
    merged = {**(base or TrainConfig()).to_dict(), **data}
    return TrainConfig.from_dict(merged, source=str(path))
