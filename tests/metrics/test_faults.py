"""`growgan metrics` faults (docs/faults.md): damaged classifier files, another network's
Inception weights, batch size 0, --out that is a folder, a cache that cannot be written."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
import torch

from growgan.cli import main


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, make_blobs):
    from growgan.data.archive import ArchiveWriter
    from growgan.metrics.classifier import train_classifier

    root = tmp_path_factory.mktemp("mfaults")
    w = ArchiveWriter(root / "arc", channels=1, resolution=(16, 16))
    w.append(np.concatenate([make_blobs(32, 16, 1, seed=1), 255 - make_blobs(32, 16, 1, seed=2)]),
             np.repeat(np.arange(2), 32))
    w.close({"source": "two classes"})
    train_classifier(root / "arc", root / "clf.pt", epochs=1, batch_size=16, width=4, log=lambda s: None)
    return root


def _one_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growgan: error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize("damage", ["no-spec", "resolution-text", "channels-2", "classes-text", "extra-key",
                                    "weights-shape", "spec-list"])
def test_classifier_with_a_damaged_spec_is_one_line(labelled, tmp_path, capsys, damage):
    blob = torch.load(labelled / "clf.pt", weights_only=True)
    spec = blob["spec"]
    if damage == "no-spec":
        del blob["spec"]
    elif damage == "resolution-text":
        spec["resolution"] = "16x16"
    elif damage == "channels-2":
        spec["channels"] = 2
    elif damage == "classes-text":
        spec["num_classes"] = "two"
    elif damage == "extra-key":
        spec["depth"] = 3
    elif damage == "weights-shape":
        spec["width"] = 8  # the tensors were trained at width 4
    else:
        blob["spec"] = [1, 16, 2]
    torch.save(blob, tmp_path / "bad.pt")
    arc = str(labelled / "arc")
    err = _one_line(capsys, ["metrics", "--real", arc, "--fake", arc, "--metrics", "fid-classifier",
                             "--classifier", str(tmp_path / "bad.pt"), "--cache-dir", str(tmp_path / "cache")])
    assert "bad.pt: damaged fid-classifier file" in err and "train-classifier" in err


def test_inception_weights_of_another_network_are_one_line(labelled, tmp_path, capsys):
    from growgan.metrics.inception import FIDInceptionV3

    state = FIDInceptionV3().state_dict()
    key = next(k for k, v in state.items() if v.ndim == 4)
    state[key] = torch.zeros(3, 3, 3, 3)  # same names, another shape
    torch.save(state, tmp_path / "reshaped.pth")
    torch.save({"conv.weight": torch.zeros(4, 1, 3, 3)}, tmp_path / "small.pth")  # another network's names
    arc = str(labelled / "arc")
    for name in ("reshaped.pth", "small.pth", "clf.pt"):
        path = tmp_path / name if name != "clf.pt" else labelled / "clf.pt"  # a nested dict, not a state dict
        err = _one_line(capsys, ["metrics", "--real", arc, "--fake", arc, "--metrics", "fid",
                                 "--inception-weights", str(path), "--cache-dir", str(tmp_path / "cache")])
        assert f"{name}: not the FID Inception weights" in err


def test_batch_size_zero_is_one_line(labelled, tmp_path, capsys):
    arc = str(labelled / "arc")
    for bs in ("0", "-3"):
        assert "--batch-size" in _one_line(capsys, ["metrics", "--real", arc, "--fake", arc, "--metrics", "swd",
                                                    "--batch-size", bs])
        assert "--batch-size" in _one_line(capsys, ["metrics", "train-classifier", "--data", arc, "--out",
                                                    str(tmp_path / "c.pt"), "--batch-size", bs])
    assert "--epochs" in _one_line(capsys, ["metrics", "train-classifier", "--data", arc, "--out",
                                            str(tmp_path / "c.pt"), "--epochs", "0"])
    assert not (tmp_path / "c.pt").exists()


def test_train_classifier_out_that_is_a_folder_fails_before_training(labelled, tmp_path, capsys, monkeypatch):
    import growgan.metrics.classifier as C

    monkeypatch.setattr(C, "FeatureClassifier", lambda *a: pytest.fail("trained before checking --out"))
    (tmp_path / "clf.pt").mkdir()
    err = _one_line(capsys, ["metrics", "train-classifier", "--data", str(labelled / "arc"), "--out",
                             str(tmp_path / "clf.pt")])
    assert "is a folder" in err


@pytest.mark.parametrize("fault", ["read-only", "full", "is-a-file"])
def test_unwritable_metrics_cache_still_gives_the_result(labelled, tmp_path, capsys, monkeypatch, fault):
    cache = tmp_path / "cache"
    if fault == "is-a-file":
        cache.write_text("a file where the cache folder should be")
    else:
        real_open = os.open
        err_no = errno.EACCES if fault == "read-only" else errno.ENOSPC

        def refuse(path, *a, **k):
            if str(path).startswith(str(cache)) and ".tmp-" in str(path):
                raise OSError(err_no, os.strerror(err_no), str(path))
            return real_open(path, *a, **k)

        monkeypatch.setattr(os, "open", refuse)
    arc = str(labelled / "arc")
    assert main(["metrics", "--real", arc, "--fake", arc, "--metrics", "fid-classifier",
                 "--classifier", str(labelled / "clf.pt"), "--cache-dir", str(cache)]) == 0
    out, err = capsys.readouterr()
    assert "fid_classifier" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("growgan: warning: statistics not cached")
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name]
