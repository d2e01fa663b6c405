"""Load a pytorch_GAN_zoo / PGAN-Paddle progressive-GAN JSON config as a growgan `TrainConfig`.

The zoo (facebookresearch/pytorch_GAN_zoo, ProgressiveGANTrainer) counts iterations, not
images: scale s trains ``maxIterAtScale[s]`` minibatches of ``miniBatchScheduler`` size (the
entry with the largest key <= s, else ``miniBatchSize``). In "linear" alpha mode, scale s > 0
opens with a fade of ``alphaNJumps[s]`` jumps every ``alphaSizeJumps[s]`` iterations (the
zoo's alpha falls 1 -> 0 in steps of 1/N; ours rises 0 -> 1, ``alpha_ours = 1 - alpha_zoo``),
and spends the rest of ``maxIterAtScale[s]`` stabilising. In images that is exactly our
schedule: fade_kimg[s] = N * size * batch_s, stabilise_kimg[s] = (maxIter[s] - N * size) * batch_s,
``alpha_jumps[s] = N``. ``depthScales`` become the per-stage channel list. Like the zoo,
optimizers restart at every new scale and G's average uses decay 0.999 per iteration.
"""

from __future__ import annotations

import json
from pathlib import Path

from growgan.data.archive import open_archive
from growgan.data.prepare import PrepareOptions, prepare
from growgan.errors import GrowganError
from growgan.training.config import TrainConfig
from growgan.training.presets_progan import ema_kimg_for_decay, progan_config

# zoo keys we map; the values a key must have when we only accept the zoo's default
_MAPPED = {
    "maxIterAtScale", "alphaJumpMode", "alphaNJumps", "alphaSizeJumps", "depthScales", "dimLatentVector",
    "lossMode", "lambdaGP", "epsilonD", "miniBatchSize", "miniBatchScheduler", "baseLearningRate",
    "miniBatchStdDev", "kInnerD", "dimOutput", "configScheduler",
}
_FIXED = {
    "kInnerG": 1, "initBiasToZero": True, "perChannelNormalization": True, "leakyness": 0.2, "equalizedlR": True,
    "weightConditionG": 0.0, "weightConditionD": 0.0, "attribKeysOrder": None, "equalizeLabels": False,
    "iterAlphaJump": None, "alphaJumpVals": None,  # only read in "custom" alpha mode, refused below
}
_TOP = {"pathDB", "config", "miniBatchScheduler", "configScheduler", "imagefolderDataset"}
_LOSSES = {"WGANGP": "wgan", "DCGAN": "nonsaturating", "Logistic": "nonsaturating", "MSE": "lsgan"}


def read_zoo_json(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GrowganError(f"{path}: zoo config not found; give a pytorch_GAN_zoo JSON file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GrowganError(f"{path}: not valid JSON ({exc}); fix the file") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise GrowganError(f'{path}: a zoo config needs a "config" object, e.g. {{"pathDB": ..., "config": {{...}}}}')
    return data


def _check_keys(path: Path, data: dict, cfg: dict) -> None:
    bad = sorted(f"config.{k}" for k in cfg if k not in _MAPPED and k not in _FIXED)
    bad += sorted(k for k in data if k not in _TOP)
    bad += sorted(f"config.{k}={cfg[k]!r}" for k, v in _FIXED.items() if k in cfg and cfg[k] != v and v is not None)
    if cfg.get("alphaJumpMode", "linear") != "linear":
        bad.append(f"config.alphaJumpMode={cfg['alphaJumpMode']!r} (only 'linear')")
    if cfg.get("lossMode", "WGANGP") not in _LOSSES:
        bad.append(f"config.lossMode={cfg['lossMode']!r} (one of {', '.join(_LOSSES)})")
    if cfg.get("configScheduler") or data.get("configScheduler"):
        bad.append("configScheduler")
    if bad:
        raise GrowganError(f"{path}: unsupported zoo settings: {'; '.join(bad)}; remove them or use a growgan config")


def _batch_scheduler(data: dict) -> dict[int, int]:
    sched = data["config"].get("miniBatchScheduler", data.get("miniBatchScheduler")) or {}
    return {int(k): int(v) for k, v in sched.items()}


def _schedule(path: Path, cfg: dict, batch_sched: dict[int, int]) -> tuple[dict, list[int], float]:
    """Per-stage growth dict, per-stage batch sizes and total kimg from the zoo's iteration counts."""
    iters = [int(x) for x in cfg.get("maxIterAtScale", [48000, 96000, 96000, 96000, 96000, 96000, 96000, 96000, 200000])]
    depths = [int(x) for x in cfg.get("depthScales", [512, 512, 512, 512, 256, 128, 64, 32, 16])]
    n_jumps = [int(x) for x in cfg.get("alphaNJumps", [0, 600, 600, 600, 600, 600, 1200, 1200, 1200])]
    size_jumps = [int(x) for x in cfg.get("alphaSizeJumps", [0, 32, 32, 32, 32, 32, 32, 32, 32, 32])]
    n = min(len(iters), len(depths), len(n_jumps), len(size_jumps))  # the zoo trims to the shortest list
    base = int(cfg.get("miniBatchSize", 16))
    batches = []
    for s in range(n):
        below = [k for k in sorted(batch_sched) if k <= s]  # the zoo's getMinOccurence
        batches.append(batch_sched[below[-1]] if below else base)
    stab, fade = [], []
    for s in range(n):
        fade_iters = n_jumps[s] * size_jumps[s] if s > 0 else 0
        if fade_iters > iters[s]:
            raise GrowganError(f"{path}: scale {s} fades for {fade_iters} iterations but maxIterAtScale is {iters[s]}; "
                               "make the fade fit in the scale")
        fade.append(fade_iters * batches[s] / 1000.0)
        stab.append((iters[s] - fade_iters) * batches[s] / 1000.0)
    growth = {
        "target_resolution": 4 * 2 ** (n - 1), "stabilise_kimg": stab, "fade_kimg": fade,
        "alpha_jumps": [n_jumps[s] if s > 0 else 0 for s in range(n)], "reset_optimizers": True,
        "batch_sizes": {str(4 * 2**s): batches[s] for s in range(n)},
    }
    return growth, depths[:n], sum(stab) + sum(fade)


def config_from_zoo_json(path: str | Path) -> TrainConfig:
    """A zoo JSON file -> TrainConfig (progan network + growth); unsupported keys -> GrowganError."""
    path = Path(path)
    data = read_zoo_json(path)
    cfg = data["config"]
    _check_keys(path, data, cfg)
    growth, depths, kimg = _schedule(path, cfg, _batch_scheduler(data))
    channels = cfg.get("dimOutput")
    common = {"img_channels": channels, "num_stages": 1, "fade_in": False, "channels": depths}
    network = {
        "family": "progan",
        "G": {"z_dim": int(cfg.get("dimLatentVector", 512)), "normalize_latents": True, **common},
        "D": {"mbstd_group_size": 4 if cfg.get("miniBatchStdDev", True) else 0, **common},
    }
    batch0 = growth["batch_sizes"]["4"]
    lr = float(cfg.get("baseLearningRate", 0.001))
    out = progan_config(
        network, growth, batch_size=batch0, kimg=kimg, name=f"zoo-{path.stem}",
        loss=_LOSSES[cfg.get("lossMode", "WGANGP")], gp_lambda=float(cfg.get("lambdaGP", 10.0)),
        drift_epsilon=float(cfg.get("epsilonD", 0.001)), n_critic=int(cfg.get("kInnerD", 1)), lr_G=lr, lr_D=lr,
        ema_kimg=ema_kimg_for_decay(batch0),
        log_kimg=max(1.0, round(kimg / 200, 1)), grid_kimg=max(1.0, round(kimg / 50, 1)),
        checkpoint_kimg=max(1.0, round(kimg / 20, 1)),
    )
    out.validate(str(path))
    return out


def zoo_archive(path: str | Path, cache: str | Path | None = None) -> Path:
    """The archive for the zoo config's ``pathDB``: an archive is used as it is; an image folder
    (or zip) is packed once at the config's final resolution into `cache` (default: beside the JSON)."""
    path = Path(path)
    data = read_zoo_json(path)
    if not data.get("pathDB"):
        raise GrowganError(f"{path}: no pathDB; add it or give --data ARCHIVE")
    db = Path(data["pathDB"]).expanduser()
    if not db.is_absolute() and (path.parent / db).exists():
        db = path.parent / db
    if not db.exists():
        raise GrowganError(f"{path}: pathDB {db} does not exist; point it at an image folder or a growgan archive")
    if (db / "meta.json").exists():
        open_archive(db)
        return db
    growth, _, _ = _schedule(path, data["config"], _batch_scheduler(data))
    res = growth["target_resolution"]
    out = Path(cache) if cache is not None else path.parent / f".{path.stem}-{db.name}-{res}px"
    if (out / "meta.json").exists():
        open_archive(out)
        return out
    prepare(str(db), out, PrepareOptions(resolution=(res, res)))
    return out
