"""The offline fid-classifier: trains on a labelled archive, loads from its file, gives its own
metric names, and real features are cached under a content hash."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from growgan.errors import GrowganError
from growgan.metrics import archive_source, compute
from growgan.metrics.api import MetricContext
from growgan.metrics.classifier import load_classifier, train_classifier


def stripes(n: int, vertical: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    period = rng.integers(3, 6, (n, 1, 1, 1))
    phase = rng.integers(0, 6, (n, 1, 1, 1))
    r = np.arange(16).reshape(1, 1, 1, 16) if vertical else np.arange(16).reshape(1, 1, 16, 1)
    img = ((r + phase) % period < period / 2) * 200 + rng.normal(0, 10, (n, 1, 16, 16))  # broadcast to 16x16
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, make_blobs):
    from growgan.data.archive import ArchiveWriter

    root = tmp_path_factory.mktemp("clf")
    parts = [make_blobs(120, 16, 1, seed=7), stripes(120, False, 8), stripes(120, True, 9)]
    w = ArchiveWriter(root / "train", channels=1, resolution=(16, 16))
    w.append(np.concatenate(parts), np.repeat(np.arange(3), 120))
    w.close({"source": "synthetic 3-class"})
    meta = train_classifier(root / "train", root / "clf.pt", epochs=3, batch_size=32, width=8, log=lambda s: None)
    return root, meta, parts


def test_trains_to_high_accuracy_and_reloads(labelled):
    root, meta, parts = labelled
    assert meta["heldout_accuracy"] > 0.9 and meta["heldout_images"] == 36
    clf = load_classifier(root / "clf.pt")
    x = torch.from_numpy(parts[1][:8])
    out = clf(x)
    assert out["pool"].shape == (8, 32) and out["logits"].shape == (8, 3)
    assert (out["logits"].argmax(1) == 1).float().mean() > 0.7
    with pytest.raises(GrowganError, match="train-classifier"):
        load_classifier(None)
    with pytest.raises(GrowganError, match="not a growgan fid-classifier"):
        torch.save({"x": torch.zeros(1)}, root / "other.pt")
        load_classifier(root / "other.pt")


def test_classifier_metrics_names_values_and_cache(labelled, tmp_path, monkeypatch):
    root, _, parts = labelled
    import growgan.metrics.features as features

    calls = []
    real_extract = features.extract
    monkeypatch.setattr(features, "extract", lambda *a, **k: calls.append(a[1].name) or real_extract(*a, **k))
    ctx = lambda: MetricContext(classifier=str(root / "clf.pt"), cache_dir=tmp_path, seed=0)  # noqa: E731
    real = archive_source(root / "train")
    from growgan.metrics.sources import array_source

    same = compute("fid-classifier,kid-classifier,pr-classifier", real, real, ctx())
    flat = {k: v for r in same.values() for k, v in r.values.items()}
    assert {"fid_classifier", "kid_classifier", "pr_classifier_precision"} <= set(flat) and "fid" not in flat
    assert abs(flat["fid_classifier"]) < 1e-4 and flat["pr_classifier_recall"] == 1.0
    assert len(list((tmp_path / "stats").glob("features-classifier-*.pt"))) == 1
    n_calls = len(calls)
    stripes_only = array_source(np.concatenate([parts[1], parts[2]]))
    other = compute("fid-classifier", real, stripes_only, ctx())["fid-classifier"].values["fid_classifier"]
    assert len(calls) == n_calls + 1  # only the fake set was extracted: reals came from the cache
    assert other > 0.1 and "not comparable" in same["fid-classifier"].notes[0]


def test_dggan_search_can_select_by_fid_classifier(labelled):
    """The search's selection metric gets the classifier file and reads the score under the
    metric's key (fid-classifier -> fid_classifier)."""
    from growgan.growth.search import SearchConfig, engine_score
    from growgan.networks.dggan import initial_spec
    from growgan.networks.registry import build_generator

    root, _, _ = labelled
    torch.manual_seed(0)
    G = build_generator(initial_spec(img_channels=1, z_dim=8, base_resolution=(4, 4), width=4)).eval()
    cfg = SearchConfig.from_dict({"metric": "fid-classifier", "classifier": str(root / "clf.pt"), "eval_images": 48})
    scores = engine_score(G, root / "train", cfg)  # 4x4 images scored at the archive's 16x16
    assert np.isfinite(scores["fid_classifier"]) and scores["fid_classifier"] > 0
    with pytest.raises(GrowganError, match="train-classifier"):  # no file: the metric says how to make one
        engine_score(G, root / "train", SearchConfig.from_dict({"metric": "fid-classifier", "eval_images": 48}))


def test_weak_classifier_is_warned_about(labelled, tmp_path):
    """Issue #18.8: a held-out accuracy below the threshold gets a warning with the fix; the
    well-trained fixture's does not."""
    from growgan.metrics.classifier import WARN_BELOW_ACCURACY

    root, meta, _ = labelled
    lines: list[str] = []
    weak = train_classifier(root / "train", tmp_path / "weak.pt", epochs=1, batch_size=32, width=8, log=lines.append,
                            warn_below=1.01)  # no accuracy reaches 1.01: the warning must fire
    assert (tmp_path / "weak.pt").is_file()  # still written
    warning = [s for s in lines if s.startswith("warning:")]
    assert len(warning) == 1 and f"{weak['heldout_accuracy']:.2f} is below 1.01" in warning[0] and "--epochs" in warning[0]
    assert meta["heldout_accuracy"] >= WARN_BELOW_ACCURACY  # so the default threshold stays silent for it
    lines.clear()
    train_classifier(root / "train", tmp_path / "ok.pt", epochs=1, batch_size=32, width=8, log=lines.append, warn_below=0.0)
    assert not [s for s in lines if s.startswith("warning:")]


def test_num_reals_all_scores_against_every_real_image(labelled, tmp_path):
    """num_reals='all': the real side of fid-classifier is the whole archive (360 images) while
    the fake side keeps num_images; the value equals the Frechet distance computed here with
    numpy/scipy from the classifier's features of all reals and of the fakes."""
    from scipy import linalg

    from growgan.metrics.sources import array_source

    root, _, parts = labelled
    real = archive_source(root / "train")
    fakes = np.concatenate([parts[1][:40], parts[2][:40]])
    ctx = MetricContext(classifier=str(root / "clf.pt"), cache_dir=tmp_path, seed=0, num_images=80, num_reals="all")
    res = compute("fid-classifier", real, array_source(fakes), ctx)["fid-classifier"]
    assert "360 real / 80 fake" in res.notes[0]
    clf = load_classifier(root / "clf.pt")
    with torch.no_grad():
        fr = clf(torch.from_numpy(np.concatenate(parts)))["pool"].double().numpy()
        ff = clf(torch.from_numpy(fakes))["pool"].double().numpy()
    mu1, mu2 = fr.mean(0), ff.mean(0)
    s1, s2 = np.cov(fr, rowvar=False), np.cov(ff, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    want = float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))
    assert res.values["fid_classifier"] == pytest.approx(want, rel=1e-3, abs=1e-3)
    default = compute("fid-classifier", real, array_source(fakes), MetricContext(
        classifier=str(root / "clf.pt"), cache_dir=tmp_path, seed=0, num_images=80))["fid-classifier"]
    assert "80 real / 80 fake" in default.notes[0]
    with pytest.raises(GrowganError, match="--num-reals"):
        MetricContext(num_reals="some")
