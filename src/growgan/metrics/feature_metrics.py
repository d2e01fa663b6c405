"""The feature-based metrics: FID, KID, IS and precision/recall on the FID
Inception, and the same (except IS) on growgan's offline classifier under their own names
(fid-classifier -> key "fid_classifier", ...), never reported as FID."""

from __future__ import annotations

from growgan.metrics import features
from growgan.metrics.registry import MetricContext, MetricResult
from growgan.errors import GrowganError
from growgan.metrics.scores import frechet_distance, inception_score, kid_from_features, mean_cov, precision_recall
from growgan.metrics.sources import ImageSource

DEFAULT_NUM = 50_000
IS_SPLITS = 10  # as Salimans et al. 2016 and every reference implementation


def _extractor(kind: str, ctx: MetricContext):
    """The feature network of `kind`, built once per compute() call (GrowganError when its
    weights or file are missing)."""
    memo = ctx.memo.setdefault(kind, {})
    if "extractor" not in memo:
        memo["extractor"] = features.build_extractor(kind, ctx)
    return memo["extractor"]


def check_extractor(kind: str):
    """The prerequisite check of the metrics on `kind`'s features: its network loads (unless
    both sets are precomputed statistics, which need no network)."""

    def check(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> None:
        if getattr(real, "stats", None) is not None and getattr(fake, "stats", None) is not None:
            return
        _extractor(kind, ctx)

    return check


def _features(kind: str, real: ImageSource | None, fake: ImageSource, ctx: MetricContext):
    """(real features or None, fake features) for one extractor, computed once per compute() call."""
    memo = ctx.memo.setdefault(kind, {})
    ext = _extractor(kind, ctx)
    if "fake" not in memo:
        n_fake = min(ctx.num_images or DEFAULT_NUM, fake.num)
        memo["fake"] = features.extract(ext, fake.subset(n_fake, ctx.seed + 1), ctx.batch_size, ctx.device)
    if real is not None and "real" not in memo:
        n_real = ctx.real_count(real.num, DEFAULT_NUM)
        memo["real"] = features.real_features(ext, real.subset(n_real, ctx.seed), ctx)
    return memo.get("real"), memo["fake"]


def _note(kind: str, real, fake) -> str:
    n_r = len(real["pool"]) if real is not None else 0
    what = "FID Inception-v3 (pool 2048-d)" if kind == "inception" else "offline fid-classifier (not the Inception: not comparable with published FID)"
    return f"{what}; {n_r} real / {len(fake['pool'])} fake images"


def _suffix(kind: str) -> str:
    return "" if kind == "inception" else "_classifier"


def _mu_sigma(feats, source: ImageSource, dim: int):
    """(mu, sigma) of a feature set, or a statistics file's own, checked against the features' size."""
    if source.stats is None:
        return mean_cov(feats["pool"])
    mu, sigma = source.stats["mu"], source.stats["sigma"]
    if mu.shape[0] != dim:
        raise GrowganError(f"{source.name}: statistics of {mu.shape[0]}-d features, but this FID uses {dim}-d "
                           "features; compute them with the same network (growgan metrics --save-stats)")
    return mu, sigma


def fid_metric(kind: str):
    def fn(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
        if real.stats is not None and fake.stats is not None:
            r = f = None
            dim = real.stats["mu"].shape[0]
            note = "FID of two statistics files"
        elif fake.stats is not None:  # images on one side only: score them against the file
            r, f = _features(kind, None, real, ctx)[1], None
            dim = r["pool"].shape[1]
            note = _note(kind, None, r).replace("0 real / ", "statistics file / ")
        else:
            r, f = _features(kind, real if real.stats is None else None, fake, ctx)
            dim = f["pool"].shape[1]
            note = _note(kind, r, f) if r is not None else _note(kind, None, f).replace("0 real / ", "statistics file / ")
        mu_r, s_r = _mu_sigma(r, real, dim)
        mu_f, s_f = _mu_sigma(f, fake, dim)
        return MetricResult({f"fid{_suffix(kind)}": frechet_distance(mu_r, s_r, mu_f, s_f)}, [note])

    return fn


def kid_metric(kind: str):
    def fn(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
        r, f = _features(kind, real, fake, ctx)
        mean, std = kid_from_features(r["pool"], f["pool"], seed=ctx.seed)
        m = min(1000, len(r["pool"]), len(f["pool"]))
        key = f"kid{_suffix(kind)}"
        return MetricResult({key: mean, f"{key}_std": std}, [_note(kind, r, f) + f"; KID: 100 subsets of {m}"])

    return fn


def pr_metric(kind: str):
    def fn(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
        r, f = _features(kind, real, fake, ctx)
        p, rec = precision_recall(r["pool"], f["pool"], k=3)
        key = f"pr{_suffix(kind)}"
        return MetricResult({f"{key}_precision": p, f"{key}_recall": rec}, [_note(kind, r, f) + "; k=3"])

    return fn


def is_metric(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
    _, f = _features("inception", None, fake, ctx)
    n, splits = len(f["logits"]), IS_SPLITS
    mean, std = inception_score(f["logits"], splits=splits)
    return MetricResult({"is": mean, "is_std": std},
                        [f"IS: {n} fake images, {splits} splits of {n // splits}-{-(-n // splits)} images "
                         "(boundaries k*N//splits), softmax over the first 1000 of 1008 logits"])

