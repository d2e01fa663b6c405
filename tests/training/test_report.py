"""report.html: what the page holds (read from the run folder independently), tolerant reading
of search.jsonl, the training loop's plug-in, the CLI, and the page drawn by headless
Chromium: plots and grids are non-blank where the page lays them out, and no console errors."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from growgan.cli import main
from growgan.training.report import build_report, read_jsonl, write_report

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def _search_rows() -> list[str]:
    """A search log as a reader meets it: rows with missing fields, a torn line, a foreign line."""
    rows = [
        {"type": "candidate", "id": "root", "parent": None, "step": 0, "action": "start", "score": 3.0, "wall_s": 1.5,
         "scores": {"swd": 3.0}, "flops": 2.5e6},
        {"type": "candidate", "id": "s1c0", "parent": "root", "step": 1, "action": "G+conv(3,8)", "score": 2.0,
         "score_std": 0.25, "scores": {"swd": 2.0}},
        {"type": "candidate", "id": "s1c1", "parent": "root", "step": 1, "action": "D+conv(1,8)"},  # no score, no time
        {"type": "step", "step": 1, "survivors": ["s1c0"]},
        {"type": "candidate", "id": "s2c0", "parent": "s1c0", "step": 2, "action": "grow-resolution", "score": 1.0},
        {"type": "step", "step": 2, "survivors": ["s2c0"]},
    ]
    return [json.dumps(r) for r in rows] + ['{"type": "candidate", "id": "s3', "[1, 2, 3]"]


def _add_search(run_dir: Path) -> None:
    (run_dir / "search.jsonl").write_text("\n".join(_search_rows()) + "\n")
    ckpt = sorted((run_dir / "checkpoints").glob("checkpoint-*.pt"))[-1]
    (run_dir / "candidates" / "s2c0").mkdir(parents=True)
    shutil.copy(ckpt, run_dir / "candidates" / "s2c0" / "checkpoint.pt")  # a candidate checkpoint has this format


@pytest.fixture(scope="module")
def page_dir(progan_run, tmp_path_factory) -> Path:
    """A copy of the tiny ProGAN run with a search log beside it (a page with every section)."""
    out = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(progan_run, out)
    _add_search(out)
    return out


def test_the_training_loop_writes_the_report_at_the_end(progan_run):
    page = (progan_run / "report.html").read_text()
    last_grid = sorted((progan_run / "grids").glob("ema-*.png"))[-1]
    assert "kimg 0.16" in page and len(re.findall(r"<svg", page)) >= 6
    import base64

    assert base64.b64encode(last_grid.read_bytes()).decode() in page  # the final grid is in it


def test_no_report_when_config_says_so(tmp_path):
    from engine_helpers import make_archive, tiny_config
    from growgan.growth import build_trainer

    archive = make_archive(tmp_path / "a", n=16)
    trainer = build_trainer(tiny_config(report=False, kimg=0.016, grid_kimg=0.008), archive, run_dir=tmp_path / "run",
                            verbose=False)
    trainer.train_until(16)
    assert list((tmp_path / "run" / "grids").glob("*.png")) and not (tmp_path / "run" / "report.html").exists()


def test_page_holds_the_runs_files(page_dir):
    page = build_report(page_dir)
    config = json.loads((page_dir / "config.json").read_text())
    assert html.escape(json.dumps(config, indent=2, sort_keys=True)) in page  # the resolved config
    swd = read_jsonl(page_dir / "metric-swd.jsonl")[-1]["results"]["swd"]
    assert f"<td>swd</td><td>swd</td><td>{swd:.4g}</td>" in page  # the final metrics table
    data = json.loads(re.search(r"id='report-data'>(.*?)</script>", page, re.S).group(1).replace("<\\/", "</"))
    kimgs = sorted(int(p.stem.split("-")[1]) / 1000 for p in (page_dir / "grids").glob("ema-*.png"))
    assert [g["kimg"] for g in data["grids"]] == kimgs and all(g["raw"] and g["ema"] for g in data["grids"])
    for title in ("losses", "penalties", "speed", "metric: swd", "growth: resolution"):
        assert f">{title}" in page, title
    # self-contained: nothing is fetched from anywhere
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<link" not in page


def test_search_log_is_read_tolerantly(page_dir):
    page = build_report(page_dir)
    search = json.loads(re.search(r"id='report-data'>(.*?)</script>", page, re.S).group(1).replace("<\\/", "</"))["search"]
    nodes = {n["id"]: n for n in search["nodes"]}
    assert set(nodes) == {"root", "s1c0", "s1c1", "s2c0"}  # the torn and foreign lines are skipped
    assert search["lineage"] == ["root", "s1c0", "s2c0"]  # last step's best, back to the root
    assert nodes["s1c1"]["status"] == "pruned" and nodes["s1c1"]["score"] is None and nodes["s2c0"]["status"] == "kept"
    assert nodes["s1c0"]["spread"] == 0.25 and nodes["root"]["flops"] == 2.5e6
    assert nodes["s2c0"]["grid"].startswith("data:image/png;base64,") and nodes["s1c1"]["grid"] is None
    assert nodes["s2c0"]["flops"] > 0  # counted on the candidate's generator
    assert "2 &plusmn; 0.25" in page and "n/a" in page


def test_cli_report_and_one_line_errors(page_dir, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(page_dir), "--out", str(out)]) == 0 and out.stat().st_size > 10_000
    assert main(["report", str(tmp_path / "nope")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("growgan: error: ") for e in err) and not (empty / "report.html").exists()


# ------------------------------------------------------------------ in a real browser
_PROBE_HEAD = """<script>window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('error: ' + e.message); });
var __ce = console.error; console.error = function () { window.__errors.push('console: ' + [].join.call(arguments, ' ')); __ce.apply(console, arguments); };
</script>"""
_PROBE_TAIL = """<script>window.addEventListener('load', function () {
  var box = function (el) { var r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom].map(Math.round); };
  var out = {errors: window.__errors, plots: [], grids: [], detail: document.getElementById('detail').innerHTML.length};
  document.querySelectorAll('#curves svg, #timeline svg').forEach(function (e) { out.plots.push(box(e)); });
  ['grid-raw', 'grid-ema'].forEach(function (id) { out.grids.push(box(document.getElementById(id))); });
  var n = document.createElement('pre'); n.id = 'probe'; n.textContent = JSON.stringify(out); document.body.appendChild(n);
});</script>"""


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--hide-scrollbars", "--force-device-scale-factor=1",
             "--window-size=1280,2600", "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0"]
    return subprocess.run(["nice", "-n", "19", CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_page_draws_plots_and_grids_in_headless_chromium(page_dir, tmp_path):
    page = build_report(page_dir)
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("<head>", "<head>" + _PROBE_HEAD, 1).replace("</body>", _PROBE_TAIL + "</body>", 1))
    dom = _chromium(["--dump-dom", probed.as_uri()], tmp_path / "profile1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    probe = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S).group(1)))
    assert probe["errors"] == [] and "Uncaught" not in dom.stderr, (probe["errors"], dom.stderr[-2000:])
    assert probe["detail"] > 100  # the script selected the winning candidate and filled its panel
    assert len(probe["plots"]) >= 6 and len(probe["grids"]) == 2
    shot = tmp_path / "shot.png"
    res = _chromium([f"--screenshot={shot}", probed.as_uri()], tmp_path / "profile2")
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    for left, top, right, bottom in probe["plots"] + probe["grids"]:
        assert right - left > 100 and bottom - top > 100, (left, top, right, bottom)
        region = img[top:bottom, left:right]
        assert region.std() > 10 and len(np.unique(region)) > 8, (left, top, right, bottom)  # drawn, not blank
    page_bg = img[5:15, -40:-20]  # the page's plain background for contrast: blank
    assert page_bg.std() < 1


def test_growth_timeline_from_stats_rows_with_resolution_and_alpha(tmp_path):
    """stats.jsonl rows that carry `resolution` and `alpha` draw the timeline from them."""
    (tmp_path / "config.json").write_text(json.dumps({"name": "t", "growth": {"kind": "progan"}}))
    rows = [{"kimg": k / 10, "loss/G": 1.0, "resolution": [4, 4] if k < 5 else 8, "alpha": min(1.0, max(0.0, (k - 5) / 3))}
            for k in range(10)] + [{"kimg": 1.0}, "not a row"]
    (tmp_path / "stats.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{torn")
    page = build_report(tmp_path)
    assert ">growth: resolution" in page and ">growth: fade-in alpha" in page and "<td>" not in page.split("Final metrics")[0]
    assert "no metrics recorded" in page
