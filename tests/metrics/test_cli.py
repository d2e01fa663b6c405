"""`growgan metrics` on the command line: two-set comparison table, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from growgan.cli import main


@pytest.fixture(scope="module")
def two_archives(tmp_path_factory, make_blobs):
    from growgan.data.archive import ArchiveWriter

    root = tmp_path_factory.mktemp("cli")
    for name, seed in (("a", 1), ("b", 2)):
        w = ArchiveWriter(root / name, channels=1, resolution=(32, 32))
        w.append(make_blobs(24, 32, 1, seed=seed))
        w.close({"source": name})
    return root / "a", root / "b"


def test_compare_two_sets_prints_swd_per_level_and_ms_ssim(two_archives, capsys):
    a, b = two_archives
    assert main(["metrics", "--real", str(a), "--fake", str(b), "--metrics", "swd,ms-ssim", "--pairs", "50"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
            if line and not line.startswith("#") and len(line.split()) == 2 and line.split()[0] != "SWD"}
    assert {"32x32", "16x16", "average", "ms_ssim", "ms_ssim_real", "ms_ssim_cross"} <= set(rows)
    assert rows["average"] == pytest.approx((rows["32x32"] + rows["16x16"]) / 2, abs=1e-3)
    assert "Laplacian levels 32x32, 16x16" in out and "MS-SSIM: 5 scales" in out


def test_user_errors_are_one_line(two_archives, tmp_path, capsys):
    a, _ = two_archives
    assert main(["metrics", "--real", str(a)]) == 2
    assert main(["metrics", str(tmp_path / "nope"), "--data", str(a)]) == 2
    assert main(["metrics", "--real", str(a), "--fake", str(tmp_path), "--metrics", "swd"]) == 2  # empty folder
    assert main(["metrics", "--real", str(a), "--fake", str(a), "--metrics", "fidd"]) == 2
    for empty in ("", " , "):  # no metric named: computed nothing and exited 0
        assert main(["metrics", "--real", str(a), "--fake", str(a), "--metrics", empty]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 6 and all(line.startswith("growgan: error: ") for line in err)
    assert "no metric named" in err[-1] and "swd" in err[-1]
    assert "Traceback" not in "".join(err)


def test_image_folder_matches_archive(two_archives, tmp_path, capsys):
    from growgan.data.archive import open_archive
    from growgan.utils.image import save_image

    a, _ = two_archives
    imgs = np.asarray(open_archive(a).images)
    for i, im in enumerate(imgs):
        save_image(im, tmp_path / f"{i:03d}.png")
    assert main(["metrics", "--real", str(a), "--fake", str(tmp_path), "--metrics", "ms-ssim", "--pairs", "40"]) == 0
    rows = dict(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("ms_ssim"))
    assert float(rows["ms_ssim"]) == pytest.approx(float(rows["ms_ssim_real"]), abs=1e-6)  # PNG is lossless


def test_run_folder_scores_generator_and_appends_jsonl(two_archives, tmp_path, monkeypatch, tiny_g, capsys):
    import json

    import growgan.training.checkpoint as ckpt  # the command imports its entry points from here when it runs

    run = tmp_path / "00001-run"
    (run / "checkpoints").mkdir(parents=True)
    G = tiny_g(res=32)
    # The checkpoint machinery belongs to the training engine; here only its two entry points are stood in.
    monkeypatch.setattr(ckpt, "load_generator", lambda target, ema=True, device="cpu": G)
    monkeypatch.setattr(ckpt, "resolve_checkpoint",
                        lambda target: (run / "checkpoints" / "ckpt-000005000.pt", {"state": {"images_seen": 5000}}))
    a, _ = two_archives
    argv = ["metrics", str(run), "--data", str(a), "--metrics", "swd,ms-ssim", "--num", "24", "--pairs", "30"]
    assert main(argv) == 0
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "32x32" in out and "appended to" in out
    rows = [json.loads(line) for line in (run / "metric-swd.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and rows[0]["kimg"] == 5.0 and rows[0]["num_images"] == 24
    assert rows[0]["value"] == rows[0]["results"]["swd"] == rows[1]["value"]  # seeded: same result twice
    assert set(rows[0]["results"]) == {"swd", "swd_32", "swd_16"}
    ms = json.loads((run / "metric-ms_ssim.jsonl").read_text().splitlines()[0])
    assert 0 <= ms["value"] <= 1


def _standin_run(tmp_path, monkeypatch, G):
    """A run folder whose checkpoint entry points are stood in by G (as above)."""
    import growgan.training.checkpoint as ckpt

    run = tmp_path / "00001-run"
    (run / "checkpoints").mkdir(parents=True)
    monkeypatch.setattr(ckpt, "load_generator", lambda target, ema=True, device="cpu": G)
    monkeypatch.setattr(ckpt, "resolve_checkpoint",
                        lambda target: (run / "checkpoints" / "ckpt-000005000.pt", {"state": {"images_seen": 5000}}))
    return run


def test_missing_prerequisite_stops_before_any_metric(two_archives, tmp_path, monkeypatch, tiny_g, capsys):
    """Issue #18.3: swd,fid without Inception weights must fail before SWD runs (or images are
    generated), naming the metric and the fix."""
    monkeypatch.setenv("GROWGAN_NO_DOWNLOAD", "1")
    monkeypatch.delenv("GROWGAN_INCEPTION_WEIGHTS", raising=False)
    G = tiny_g(res=32)
    calls = []
    forward = G.forward
    monkeypatch.setattr(G, "forward", lambda *a: calls.append(1) or forward(*a))
    run = _standin_run(tmp_path, monkeypatch, G)
    a, _ = two_archives
    argv = ["metrics", str(run), "--data", str(a), "--metrics", "swd,fid,kid,fid-classifier", "--num", "24",
            "--cache-dir", str(tmp_path / "cache")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count("\n") == 0 and err.startswith("growgan: error: nothing computed")
    assert "fid, kid: " in err and "Inception weights" in err  # said once for both Inception metrics
    assert "fid-classifier: " in err and "--classifier" in err
    assert calls == [] and "SWD" not in captured.out  # nothing generated, nothing computed
    assert not list(run.glob("metric-*.jsonl"))


def test_each_result_is_printed_and_recorded_as_it_finishes(two_archives, tmp_path, monkeypatch, tiny_g, capsys):
    """A metric that fails while computing loses nothing computed before it."""
    import json

    from growgan.errors import GrowganError
    from growgan.metrics import registry

    def broken(real, fake, ctx):
        raise GrowganError("ms-ssim broke")

    monkeypatch.setitem(registry._METRICS, "ms-ssim", broken)
    run = _standin_run(tmp_path, monkeypatch, tiny_g(res=32))
    a, _ = two_archives
    assert main(["metrics", str(run), "--data", str(a), "--metrics", "swd,ms-ssim", "--num", "24"]) == 2
    captured = capsys.readouterr()
    assert "average" in captured.out and "metric-swd.jsonl" in captured.out
    assert "ms-ssim broke" in captured.err
    row = json.loads((run / "metric-swd.jsonl").read_text())
    assert set(row["results"]) == {"swd", "swd_32", "swd_16"}


def test_data_builtin_names_the_same_archive_everywhere(tmp_path, capsys, monkeypatch):
    """Issue #18.4: `--data builtin` (and --real/--fake builtin) in metrics as in train."""
    from growgan.data import builtin_archive, resolve_archive
    from growgan.metrics.sources import open_source

    src = open_source("builtin")
    assert src.num == 10_000 and src.resolution == (32, 32) and src.name == str(builtin_archive())
    assert resolve_archive("builtin") == builtin_archive()
    assert main(["metrics", "--real", "builtin", "--fake", "builtin", "--metrics", "ms-ssim", "--num", "20",
                 "--pairs", "10"]) == 0
    rows = dict(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("ms_ssim"))
    assert {"ms_ssim", "ms_ssim_real", "ms_ssim_cross"} <= set(rows)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "builtin").mkdir()  # a folder of that name wins over the name
    assert main(["metrics", "--real", "builtin", "--fake", "builtin", "--metrics", "ms-ssim"]) == 2
    assert "no image files" in capsys.readouterr().err
