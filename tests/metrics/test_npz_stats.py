"""Interchange with other evaluation suites: generated samples as an .npz of uint8 NHWC images
(`arr_0`), reference statistics as pytorch-fid's .npz (`mu`, `sigma`), and
`growgan metrics --save-stats`. FID values are checked against scipy on mu/sigma directly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from growgan.cli import main

pytestmark = pytest.mark.usefixtures("one_intra_op_thread")


def frechet(mu1, s1, mu2, s2) -> float:
    """The FID definition, written here independently: |mu1-mu2|^2 + Tr(s1 + s2 - 2 sqrt(s1 s2))."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eye = np.eye(len(mu1)) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + eye) @ (s2 + eye))
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


@pytest.fixture(scope="module")
def sets(tmp_path_factory, make_blobs):
    from growgan.data.archive import ArchiveWriter

    root = tmp_path_factory.mktemp("npz")
    w = ArchiveWriter(root / "real", channels=3, resolution=(32, 32))
    real = make_blobs(10, 32, 3, seed=1)
    w.append(real)
    w.close({"source": "blobs"})
    fake = make_blobs(8, 32, 3, seed=2)
    np.savez(root / "samples.npz", fake.transpose(0, 2, 3, 1))  # NHWC, saved as arr_0
    return root, real, fake


def _stats(path):
    with np.load(path) as z:
        return z["mu"], z["sigma"]


def test_fid_of_two_statistics_files_is_the_frechet_distance(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 6)), rng.normal(0.5, 2.0, size=(30, 6))
    for name, x in (("a", a), ("b", b)):
        np.savez(tmp_path / f"{name}.npz", mu=x.mean(0), sigma=np.cov(x, rowvar=False))
    assert main(["metrics", "--real", str(tmp_path / "a.npz"), "--fake", str(tmp_path / "b.npz"), "--metrics", "fid"]) == 0
    value = float(next(line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("fid")))
    assert value == pytest.approx(frechet(*_stats(tmp_path / "a.npz"), *_stats(tmp_path / "b.npz")), abs=5.1e-5)  # printed to 4 decimals


def test_npz_mistakes_are_one_line(sets, tmp_path, capsys):
    root, _, fake = sets
    np.savez(tmp_path / "float.npz", fake.astype(np.float32))
    np.savez(tmp_path / "other.npz", images=fake)
    np.savez(tmp_path / "stats.npz", mu=np.zeros(3), sigma=np.eye(3))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    cases = [
        (["--real", str(tmp_path / "float.npz"), "--fake", str(root / "samples.npz")], "arr_0 is float32"),
        (["--real", str(tmp_path / "other.npz"), "--fake", str(root / "samples.npz")], "needs arr_0"),
        (["--real", str(tmp_path / "junk.npz"), "--fake", str(root / "samples.npz")], "not a readable .npz"),
        (["--real", str(tmp_path / "stats.npz"), "--fake", str(root / "samples.npz"), "--metrics", "swd"],
         "score only fid"),
        (["--save-stats", str(root / "real")], "--out stats.npz together"),
        (["--save-stats", str(root / "real"), "--out", str(tmp_path / "s.txt")], "an .npz file"),
    ]
    for argv, says in cases:
        assert main(["metrics", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err and err.startswith("growgan: error: "), (argv, err)


class StandIn(torch.nn.Module):
    """A small random stand-in for the FID Inception (same interface, 12-d pool features), so
    that the test runs in a second; the real network's loading is tested in test_inception.py."""

    name = "inception"

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 12, 5, stride=2)

    def forward(self, images):  # uint8 [N, 3, H, W] -> {"pool": [N, 12], "logits": [N, 12]}
        pool = torch.relu(self.conv(images.float() / 127.5 - 1)).mean(dim=(2, 3))
        return {"pool": pool, "logits": pool}


def test_save_stats_and_fid_of_npz_samples_with_given_weights(sets, tmp_path, capsys, monkeypatch):
    """`--save-stats ARCHIVE --out stats.npz` then `--real stats.npz --fake samples.npz --metrics fid`
    with a given weights file (of the stand-in network). mu/sigma are checked against features
    computed here, the FID against scipy on mu/sigma."""
    from growgan.metrics import features

    root, real, fake = sets
    torch.manual_seed(0)
    net = StandIn().eval()
    weights = tmp_path / "weights.pth"
    torch.save(net.state_dict(), weights)
    given = []

    def load(path, cache_dir=None, device=None):
        given.append(path)
        model = StandIn()
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()

    monkeypatch.setattr(features, "load_inception", load)
    stats = tmp_path / "stats.npz"
    assert main(["metrics", "--save-stats", str(root / "real"), "--out", str(stats), "--inception-weights", str(weights)]) == 0
    assert "wrote" in capsys.readouterr().out
    with torch.no_grad():
        f_real = net(torch.from_numpy(real))["pool"].double().numpy()
        f_fake = net(torch.from_numpy(fake))["pool"].double().numpy()
    mu, sigma = _stats(stats)
    assert mu.shape == (12,) and sigma.shape == (12, 12)
    np.testing.assert_allclose(mu, f_real.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sigma, np.cov(f_real, rowvar=False), rtol=1e-4, atol=1e-9)
    assert main(["metrics", "--real", str(stats), "--fake", str(root / "samples.npz"), "--metrics", "fid",
                 "--inception-weights", str(weights)]) == 0
    out = capsys.readouterr().out
    value = float(next(line.split()[1] for line in out.splitlines() if line.startswith("fid")))
    want = frechet(mu, sigma, f_fake.mean(0), np.cov(f_fake, rowvar=False))
    assert value == pytest.approx(want, abs=5.1e-5) and want > 1e-3  # printed to 4 decimals
    assert given == [str(weights)] * 2
    # the NHWC layout is read as such: the same images as an archive-shaped folder give FID 0
    np.savez(tmp_path / "real.npz", real.transpose(0, 2, 3, 1))
    assert main(["metrics", "--real", str(stats), "--fake", str(tmp_path / "real.npz"), "--metrics", "fid",
                 "--inception-weights", str(weights)]) == 0
    value = float(next(line.split()[1] for line in capsys.readouterr().out.splitlines() if line.startswith("fid")))
    assert abs(value) < 1e-3
