"""Per-class ("intra-class") metrics of conditional generators, and the classification
accuracy of generated images (CAS-style, Ravuri & Vinyals 2019: how often an independent
classifier agrees with the class that was asked for).

Both sources must carry labels (`ImageSource.labels`): a labelled archive, and a
conditional generator (`sources.generator_source` records the labels it asked for).
Keys: `<metric>_class_<k>` for every class present in both sets and `<metric>_class_mean`,
their unweighted mean (intra-FID, as Miyato & Koyama 2018 report). `class_accuracy` is a
fraction in [0, 1], higher is better (as `is` and `pr_*`), with `class_accuracy_<k>`.
"""

from __future__ import annotations

import numpy as np
import torch

from growgan.errors import GrowganError
from growgan.metrics.basic import swd_metric
from growgan.metrics.feature_metrics import DEFAULT_NUM, _features, _suffix
from growgan.metrics.registry import MetricContext, MetricResult
from growgan.metrics.scores import frechet_distance, mean_cov
from growgan.metrics.sources import ImageSource

MIN_PER_CLASS = 2  # fewer images of a class in either set: the class is left out (and noted)


def _need_labels(real: ImageSource | None, fake: ImageSource, metric: str) -> None:
    if fake.labels is None:
        raise GrowganError(f"{metric}: {fake.name} has no class labels; score a conditional generator (a run "
                           "folder or checkpoint), not an image folder")
    if real is not None and (real.labels is None or real.stats is not None):
        raise GrowganError(f"{metric}: {real.name} has no class labels; give the labelled archive as the reals")


def check_per_class(metric: str, inner=None):
    """The prerequisite check of a per-class metric: class labels on both sides, then `inner`
    (the whole-set metric's check, e.g. its feature network)."""

    def check(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> None:
        _need_labels(real, fake, metric)
        if inner is not None:
            inner(real, fake, ctx)

    return check


def _classes(real_labels: np.ndarray, fake_labels: np.ndarray) -> tuple[list[int], list[int]]:
    """(classes with >= MIN_PER_CLASS images in both sets, the classes left out)."""
    present = sorted(set(np.unique(real_labels).tolist()) | set(np.unique(fake_labels).tolist()))
    ok = [k for k in present if (real_labels == k).sum() >= MIN_PER_CLASS and (fake_labels == k).sum() >= MIN_PER_CLASS]
    return ok, [k for k in present if k not in ok]


def _result(prefix: str, per: dict[int, float], left_out: list[int], note: str) -> MetricResult:
    if not per:
        raise GrowganError(f"{prefix}: no class has {MIN_PER_CLASS}+ images in both sets; use more images (--num)")
    values = {f"{prefix}_class_{k}": v for k, v in per.items()}
    values[f"{prefix}_class_mean"] = float(np.mean(list(per.values())))
    notes = [note + f"; mean over {len(per)} classes"]
    if left_out:
        notes.append(f"classes {left_out} left out: fewer than {MIN_PER_CLASS} images in a set")
    return MetricResult(values, notes)


def swd_per_class(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
    """ProGAN's SWD between the real and fake images of each class (key swd_class_<k>)."""
    _need_labels(real, fake, "swd-per-class")
    num = min(ctx.num_images or 16384, real.num, fake.num)
    real, fake = real.subset(num, ctx.seed), fake.subset(num, ctx.seed + 1)
    ok, left_out = _classes(real.labels, fake.labels)
    per = {}
    for k in ok:
        r, f = real.of_class(k), fake.of_class(k)
        sub = MetricContext(num_images=min(r.num, f.num), seed=ctx.seed, batch_size=ctx.batch_size, device=ctx.device)
        per[k] = swd_metric(r, f, sub).values["swd"]
    return _result("swd", per, left_out, f"SWD per class of {num} real / {num} fake images")


def fid_per_class(kind: str):
    """Intra-class FID on `kind`'s features ("inception" or "classifier")."""

    def fn(real: ImageSource, fake: ImageSource, ctx: MetricContext) -> MetricResult:
        name = f"fid{_suffix(kind).replace('_', '-')}-per-class"
        _need_labels(real, fake, name)
        r, f = _features(kind, real, fake, ctx)
        r_lab = real.subset(ctx.real_count(real.num, DEFAULT_NUM), ctx.seed).labels
        f_lab = fake.subset(min(ctx.num_images or DEFAULT_NUM, fake.num), ctx.seed + 1).labels
        ok, left_out = _classes(r_lab, f_lab)
        per = {}
        for k in ok:
            mu_r, s_r = mean_cov(r["pool"][torch.from_numpy(r_lab == k)])
            mu_f, s_f = mean_cov(f["pool"][torch.from_numpy(f_lab == k)])
            per[k] = frechet_distance(mu_r, s_r, mu_f, s_f)
        return _result(f"fid{_suffix(kind)}", per, left_out,
                       f"intra-class FID on {kind} features, {len(r_lab)} real / {len(f_lab)} fake images")

    return fn


def class_accuracy(real: ImageSource | None, fake: ImageSource, ctx: MetricContext) -> MetricResult:
    """The fraction of generated images the offline classifier (--classifier) assigns to the
    class they were generated for; overall and per class. Reals are not used."""
    _need_labels(None, fake, "class-accuracy")
    _, f = _features("classifier", None, fake, ctx)
    labels = fake.subset(min(ctx.num_images or DEFAULT_NUM, fake.num), ctx.seed + 1).labels
    num_classes = f["logits"].shape[1]
    if labels.max() >= num_classes:
        raise GrowganError(f"class-accuracy: the generator has class {int(labels.max())} but the classifier knows "
                           f"{num_classes} classes; train the classifier on the generator's archive")
    hit = (f["logits"].argmax(dim=1).numpy() == labels)
    values = {"class_accuracy": float(hit.mean())}
    for k in np.unique(labels).tolist():
        values[f"class_accuracy_{k}"] = float(hit[labels == k].mean())
    return MetricResult(values, [f"offline classifier's agreement with the requested class, {len(labels)} images "
                                 "(higher is better)"])
