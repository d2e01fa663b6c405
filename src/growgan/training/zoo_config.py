"""Load a pytorch_GAN_zoo / PGAN-Paddle progressive-GAN JSON config as a growgan `TrainConfig`.

The zoo (facebookresearch/pytorch_GAN_zoo, ProgressiveGANTrainer) counts iterations, not
images: scale s trains ``maxIterAtScale[s]`` minibatches of ``miniBatchScheduler`` size (the
entry with the largest key <= s, else ``miniBatchSize``). In "linear" alpha mode, scale s > 0
opens with a fade of ``alphaNJumps[s]`` jumps every ``alphaSizeJumps[s]`` iterations (the
zoo's alpha falls 1 -> 0 in steps of 1/N; ours rises 0 -> 1, ``alpha_ours = 1 - alpha_zoo``),
and spends the rest of ``maxIterAtScale[s]`` stabilising. In images that is exactly our
schedule: fade_kimg[s] = N * size * batch_s, stabilise_kimg[s] = (maxIter[s] - N * size) * batch_s,
``alpha_jumps[s] = N``; "custom" alpha mode is accepted when its jumps are such equal steps.
``depthScales`` become the per-stage channel list. ``configScheduler`` entries
({scale: {key: value}}, as in PGAN-Paddle's README) hold from their scale on, as the zoo's
in-place config update does; their ``baseLearningRate``/``learningRate`` become growgan's
per-resolution ``growth.lr_G``/``lr_D``. Like the zoo, optimizers restart at every new scale and
G's average uses decay 0.999 per iteration.
"""

from __future__ import annotations

from pathlib import Path

from growgan.data.archive import open_archive
from growgan.data.prepare import PrepareOptions, prepare
from growgan.errors import GrowganError
from growgan.training.config import TrainConfig
from growgan.training.presets_progan import ema_kimg_for_decay, progan_config
from growgan.utils.io import read_json

# zoo keys we map; the values a key must have when we only accept the zoo's default
_MAPPED = {
    "maxIterAtScale", "alphaJumpMode", "alphaNJumps", "alphaSizeJumps", "iterAlphaJump", "alphaJumpVals",
    "depthScales", "dimLatentVector", "lossMode", "lambdaGP", "epsilonD", "miniBatchSize", "miniBatchScheduler",
    "baseLearningRate", "learningRate", "miniBatchStdDev", "kInnerD", "dimOutput", "configScheduler", "GDPP",
}
_FIXED = {
    "kInnerG": 1, "initBiasToZero": True, "perChannelNormalization": True, "leakyness": 0.2, "equalizedlR": True,
    "weightConditionG": 0.0, "weightConditionD": 0.0, "attribKeysOrder": None, "equalizeLabels": False,
}
# what to do about a key whose value growgan cannot reproduce
_FIXES = {
    "kInnerG": "growgan takes one G step per D round; remove it",
    "equalizedlR": "growgan's progan layers always use the equalized learning rate; remove it",
    "attribKeysOrder": "conditional (AC-GAN) zoo runs are not supported; train unconditionally or use a growgan config",
    "weightConditionG": "conditional (AC-GAN) zoo runs are not supported; remove it",
    "weightConditionD": "conditional (AC-GAN) zoo runs are not supported; remove it",
}
_TOP = {"pathDB", "config", "miniBatchScheduler", "configScheduler", "imagefolderDataset"}
_LOSSES = {"WGANGP": "wgan", "DCGAN": "nonsaturating", "Logistic": "nonsaturating", "MSE": "lsgan"}
# keys a configScheduler entry may change at a scale (both name the learning rate: the zoo keeps
# the one its optimizers read in learningRate, PGAN-Paddle's README sets baseLearningRate)
_PER_SCALE_LR = ("baseLearningRate", "learningRate")
_DEFAULTS = {
    "maxIterAtScale": [48000, 96000, 96000, 96000, 96000, 96000, 96000, 96000, 200000],
    "depthScales": [512, 512, 512, 512, 256, 128, 64, 32, 16],
    "alphaNJumps": [0, 600, 600, 600, 600, 600, 1200, 1200, 1200],
    "alphaSizeJumps": [0, 32, 32, 32, 32, 32, 32, 32, 32, 32],
    "miniBatchSize": 16, "dimLatentVector": 512, "lossMode": "WGANGP", "lambdaGP": 10.0, "epsilonD": 0.001,
    "baseLearningRate": 0.001, "miniBatchStdDev": True, "kInnerD": 1, "GDPP": False,
}


def read_zoo_json(path: str | Path) -> dict:
    path = Path(path)
    data = read_json(path, "zoo config not found; give a pytorch_GAN_zoo JSON file", "fix the file")
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise GrowganError(f'{path}: a zoo config needs a "config" object, e.g. {{"pathDB": ..., "config": {{...}}}}')
    return data


def _get(cfg: dict, key: str):
    return cfg.get(key, _DEFAULTS.get(key))


def _base_lr(path: Path, cfg: dict) -> float:
    """The run's learning rate: baseLearningRate, or learningRate (the same idea in the zoo)."""
    if "baseLearningRate" in cfg and "learningRate" in cfg and cfg["baseLearningRate"] != cfg["learningRate"]:
        raise GrowganError(f"{path}: config.baseLearningRate={cfg['baseLearningRate']!r} and config.learningRate="
                           f"{cfg['learningRate']!r} disagree; give one of them")
    return cfg.get("learningRate", cfg.get("baseLearningRate", _DEFAULTS["baseLearningRate"]))


def _config_scheduler(path: Path, data: dict) -> tuple[dict[int, dict], list[str]]:
    """configScheduler (in "config" or beside it) -> {scale: {key: value}}, and its problems."""
    bad: list[str] = []
    merged: dict[int, dict] = {}
    for where in (data["config"].get("configScheduler"), data.get("configScheduler")):
        if where is None:
            continue
        if not isinstance(where, dict):
            bad.append("configScheduler (needs a mapping {scale: {key: value}})")
            continue
        for key, entry in where.items():
            if not str(key).isdigit() or not isinstance(entry, dict):
                bad.append(f"configScheduler.{key} (keys are scales 0, 1, ...; values mappings of zoo settings)")
                continue
            into = merged.setdefault(int(key), {})
            for k, v in entry.items():
                if k in into and into[k] != v:
                    bad.append(f"configScheduler.{key}.{k} (given twice with different values)")
                into[k] = v
    return merged, bad


def _check_scheduler(cfg: dict, sched: dict[int, dict]) -> list[str]:
    bad = []
    for scale, entry in sorted(sched.items()):
        for k, v in entry.items():
            where = f"configScheduler.{scale}.{k}={v!r}"
            if k in _PER_SCALE_LR:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                    bad.append(f"{where} (a learning rate needs a number > 0)")
            elif (k in _MAPPED or k in _FIXED) and v == cfg.get(k, _FIXED.get(k, _DEFAULTS.get(k))):
                continue  # the run's own value: nothing changes at this scale
            elif k == "miniBatchSize":
                bad.append(f"{where} (give per-scale batch sizes in config.miniBatchScheduler)")
            else:
                bad.append(f"{where} (growgan changes only the learning rate per scale; set {k} once in config)")
    return bad


def _check_keys(path: Path, data: dict, cfg: dict) -> None:
    bad = sorted(f"config.{k} (not a pytorch_GAN_zoo PGAN setting)" for k in cfg if k not in _MAPPED and k not in _FIXED)
    bad += sorted(f"{k} (per-scale datasets are not supported; give one --data)" if k == "datasetProfile" else k
                  for k in data if k not in _TOP)
    for k, v in _FIXED.items():
        if k in cfg and cfg[k] != v:
            bad.append(f"config.{k}={cfg[k]!r}" + (f" ({_FIXES[k]})" if k in _FIXES else ""))
    if cfg.get("alphaJumpMode", "linear") not in ("linear", "custom"):
        bad.append(f"config.alphaJumpMode={cfg['alphaJumpMode']!r} (one of 'linear', 'custom')")
    if cfg.get("lossMode", "WGANGP") not in _LOSSES:
        bad.append(f"config.lossMode={cfg['lossMode']!r} (one of {', '.join(_LOSSES)})")
    if cfg.get("GDPP"):
        bad.append(f"config.GDPP={cfg['GDPP']!r} (growgan has no GDPP loss; set GDPP to false to train without it)")
    sched, sched_bad = _config_scheduler(path, data)
    bad += sched_bad + _check_scheduler(cfg, sched)
    _base_lr(path, cfg)
    if bad:
        raise GrowganError(f"{path}: unsupported zoo settings: {'; '.join(bad)}; remove or change them, or use a growgan config")


def _batch_scheduler(data: dict) -> dict[int, int]:
    sched = data["config"].get("miniBatchScheduler", data.get("miniBatchScheduler")) or {}
    return {int(k): int(v) for k, v in sched.items()}


def _min_occurrence(table: dict[int, object], scale: int, default):
    """The entry with the largest key <= scale, else `default` (the zoo's getMinOccurence)."""
    below = [k for k in sorted(table) if k <= scale]
    return table[below[-1]] if below else default


def _custom_jumps(path: Path, cfg: dict) -> tuple[list[int], list[int]]:
    """"custom" alpha mode -> (jumps, iterations per jump) per scale, when its jumps are what
    growgan's alpha does: equal steps 1 -> 0 at equal intervals from the scale's start."""
    iters_list, vals_list = cfg.get("iterAlphaJump"), cfg.get("alphaJumpVals")
    if not isinstance(iters_list, list) or not isinstance(vals_list, list):
        raise GrowganError(f"{path}: alphaJumpMode 'custom' needs the lists config.iterAlphaJump and config.alphaJumpVals")
    n_jumps, sizes = [], []
    for s, (its, vals) in enumerate(zip(iters_list, vals_list)):
        its, vals = [int(i) for i in its], [float(v) for v in vals]
        if s == 0 or not its or vals in ([0.0], []):
            n_jumps.append(0)
            sizes.append(0)
            continue
        n, size = len(its) - 1, (its[1] - its[0]) if len(its) > 1 else 0
        equal = (n >= 1 and len(vals) == len(its) and its[0] == 0 and size > 0
                 and all(its[k] == k * size for k in range(n + 1))
                 and all(abs(vals[k] - (1 - k / n)) < 1e-6 for k in range(n + 1)))
        if not equal:
            raise GrowganError(f"{path}: config.iterAlphaJump/alphaJumpVals at scale {s} ({its}, {vals}) are not equal "
                               "steps 1 -> 0 at equal intervals, which is all growgan's fade does; use alphaJumpMode "
                               "'linear' with alphaNJumps/alphaSizeJumps")
        n_jumps.append(n)
        sizes.append(size)
    return n_jumps, sizes


def _schedule(path: Path, cfg: dict, batch_sched: dict[int, int]) -> tuple[dict, list[int], float]:
    """Per-stage growth dict, per-stage batch sizes and total kimg from the zoo's iteration counts."""
    iters = [int(x) for x in _get(cfg, "maxIterAtScale")]
    depths = [int(x) for x in _get(cfg, "depthScales")]
    if cfg.get("alphaJumpMode", "linear") == "custom":
        n_jumps, size_jumps = _custom_jumps(path, cfg)
    else:
        n_jumps = [int(x) for x in _get(cfg, "alphaNJumps")]
        size_jumps = [int(x) for x in _get(cfg, "alphaSizeJumps")]
    n = min(len(iters), len(depths), len(n_jumps), len(size_jumps))  # the zoo trims to the shortest list
    if n < 1:
        raise GrowganError(f"{path}: maxIterAtScale, depthScales and the alpha lists need one entry per scale")
    base = int(_get(cfg, "miniBatchSize"))
    batches = [int(_min_occurrence(batch_sched, s, base)) for s in range(n)]
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


def _per_scale_lr(sched: dict[int, dict], base_lr: float, n: int) -> dict[str, float]:
    """Learning rate per resolution: a configScheduler entry holds from its scale on (the zoo
    updates its config in place), until a later entry changes it; {} when none sets one."""
    if not any(k in entry for entry in sched.values() for k in _PER_SCALE_LR):
        return {}
    lr, out = base_lr, {}
    for s in range(n):
        entry = sched.get(s, {})
        for k in _PER_SCALE_LR:
            if k in entry:
                lr = float(entry[k])
        out[str(4 * 2**s)] = lr
    return out


def config_from_zoo_json(path: str | Path) -> TrainConfig:
    """A pytorch_GAN_zoo / PGAN-Paddle JSON file -> TrainConfig (progan network + growth).

    Maps maxIterAtScale, alphaJumpMode (linear; custom when its jumps are equal steps),
    alphaNJumps/alphaSizeJumps, depthScales, miniBatchSize/miniBatchScheduler, dimLatentVector,
    dimOutput, lossMode, lambdaGP, epsilonD, kInnerD, miniBatchStdDev, baseLearningRate/learningRate
    and configScheduler's per-scale learning rates (``growth.lr_G``/``lr_D`` per resolution).
    Settings growgan cannot reproduce (GDPP true, AC-GAN, per-scale lambdaGP, ...) are listed in
    one GrowganError that says what to change."""
    path = Path(path)
    data = read_zoo_json(path)
    cfg = data["config"]
    _check_keys(path, data, cfg)
    try:
        growth, depths, kimg = _schedule(path, cfg, _batch_scheduler(data))
        lr = float(_base_lr(path, cfg))
    except (TypeError, ValueError, AttributeError) as exc:
        raise GrowganError(f"{path}: a zoo setting has the wrong type ({exc}); per-scale lists need integers, "
                           "miniBatchScheduler a mapping of scale to batch size") from None
    per_scale = _per_scale_lr(_config_scheduler(path, data)[0], lr, len(depths))
    if per_scale:
        growth["lr_G"], growth["lr_D"] = dict(per_scale), dict(per_scale)
    channels = cfg.get("dimOutput")
    common = {"img_channels": channels, "num_stages": 1, "fade_in": False, "channels": depths}
    network = {
        "family": "progan",
        "G": {"z_dim": int(_get(cfg, "dimLatentVector")), "normalize_latents": True, **common},
        "D": {"mbstd_group_size": 4 if _get(cfg, "miniBatchStdDev") else 0, **common},
    }
    batch0 = growth["batch_sizes"]["4"]
    out = progan_config(
        network, growth, batch_size=batch0, kimg=kimg, name=f"zoo-{path.stem}",
        loss=_LOSSES[_get(cfg, "lossMode")], gp_lambda=float(_get(cfg, "lambdaGP")),
        drift_epsilon=float(_get(cfg, "epsilonD")), n_critic=int(_get(cfg, "kInnerD")), lr_G=lr, lr_D=lr,
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
