"""One self-contained HTML page per run folder (and per DGGAN search folder): ``report.html``.

What it shows, all embedded (opens offline; no CDN, no external file):
- the resolved config (config.json);
- loss, penalty, D-output, learning-rate and img/s curves over kimg from stats.jsonl, and each
  metric's values over kimg from metric-<name>.jsonl (matplotlib, inline SVG);
- for growing runs the resolution / alpha timeline: from the ``resolution`` and ``alpha`` keys
  of stats.jsonl rows where present, else from the growth history (grow events) of the newest
  checkpoint or of the running trainer;
- the fixed-latent grids over time (grids/raw-*.png beside grids/ema-*.png) under a slider;
- the final metrics table (the newest row of each metric file);
- for a DGGAN search folder (search.jsonl): the interactive tree of candidates (action, score
  with spread where recorded, generator FLOPs per image, wall time, kept or pruned; a click
  shows the candidate's details and its grid, rendered once from candidates/<id>/checkpoint.pt
  and cached beside it) with the winning lineage marked.

Every input is read tolerantly: torn or foreign jsonl lines are skipped, missing fields are
shown as "n/a", missing files leave their section out. `write_report` is called by
``growgan report`` and by the training loop's report plug-in (`RunReporter`).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch

from growgan.errors import GrowganError
from growgan.networks.registry import build_generator
from growgan.utils.image import make_grid
from growgan.utils.io import atomic_path, atomic_write_text

MAX_POINTS = 1500  # per curve; longer series are thinned evenly (the last point kept)
MAX_GRIDS = 48  # grid pairs embedded; more are thinned evenly (the newest kept)
_GRID_RE = re.compile(r"^(raw|ema|translate)-(\d+)\.png$")


# ---------------------------------------------------------------------------- reading
def read_jsonl(path: Path) -> list[dict]:
    """Rows of a jsonl file that parse as JSON objects; torn or foreign lines are skipped."""
    rows = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return rows
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _kimg(row: dict) -> float | None:
    k = _num(row.get("kimg"))
    if k is None and _num(row.get("images_seen")) is not None:
        k = row["images_seen"] / 1000.0
    return k


def _series(rows: list[dict], key: str, sub: str | None = None) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for r in rows:
        v = r.get(sub, {}).get(key) if sub else r.get(key)
        x, y = _kimg(r), _num(v)
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    if len(xs) > MAX_POINTS:
        idx = sorted({round(i * (len(xs) - 1) / (MAX_POINTS - 1)) for i in range(MAX_POINTS)})
        xs, ys = [xs[i] for i in idx], [ys[i] for i in idx]
    return xs, ys


def _side(res: Any) -> float | None:
    """A resolution as stored ((H, W), [H, W] or H) -> its height."""
    if isinstance(res, (list, tuple)) and res:
        return _num(res[0])
    return _num(res)


# ---------------------------------------------------------------------------- plots
def _plot(title: str, curves: dict[str, tuple[list, list]], ylabel: str = "", logy: bool = False,
          steps: bool = False, spans: list[tuple[float, float]] | None = None) -> str | None:
    """An inline SVG line plot over kimg, or None when there is nothing to draw."""
    curves = {k: v for k, v in curves.items() if v[0]}
    if not curves:
        return None
    from matplotlib import rc_context  # deferred: matplotlib is heavy to import, and only reports draw
    from matplotlib.figure import Figure

    with rc_context({"svg.fonttype": "none", "font.size": 9}):
        fig = Figure(figsize=(5.2, 2.8), dpi=100)
        ax = fig.add_subplot()
        for label, (xs, ys) in curves.items():
            if steps:
                ax.step(xs, ys, where="post", label=label, linewidth=1.2)
            else:
                ax.plot(xs, ys, label=label, linewidth=1.0, marker="o" if len(xs) < 12 else None, markersize=3)
        for a, b in spans or []:
            ax.axvspan(a, b, color="#f2c14e", alpha=0.25, linewidth=0)
        if logy and all(y > 0 for _, ys in curves.values() for y in ys):
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("kimg")
        if ylabel:
            ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if len(curves) > 1:
            ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prologue: the SVG sits inline in the page


def _stat_plots(stats: list[dict]) -> list[str]:
    keys = sorted({k for r in stats for k, v in r.items() if _num(v) is not None})
    losses = [k for k in keys if k in ("loss/D", "loss/G")]
    penalties = [k for k in keys if k.startswith("loss/") and k not in losses]
    d_out = [k for k in keys if k.startswith("D/")]
    lrs = [k for k in keys if k.startswith("lr_")]
    plots = [
        _plot("losses", {k: _series(stats, k) for k in losses}),
        _plot("penalties", {k: _series(stats, k) for k in penalties}),
        _plot("D outputs", {k: _series(stats, k) for k in d_out}),
        _plot("speed", {"img/s": _series(stats, "img_per_s")}, "images / s"),
        _plot("learning rates", {k: _series(stats, k) for k in lrs}, logy=True),
    ]
    return [p for p in plots if p]


def _metric_plots(metrics: dict[str, list[dict]]) -> list[str]:
    out = []
    for name, rows in metrics.items():
        keys = sorted({k for r in rows for k, v in (r.get("results") or {}).items() if _num(v) is not None})
        curves = {k: _series(rows, k, sub="results") for k in keys}
        if not keys:
            curves = {name: _series(rows, "value")}
        p = _plot(f"metric: {name}", curves)
        if p:
            out.append(p)
    return out


def _timeline(stats: list[dict], growth: dict | None) -> str | None:
    """Resolution (and alpha) over kimg for growing runs; None for fixed networks."""
    res = _series([{**r, "resolution": _side(r.get("resolution"))} for r in stats], "resolution")
    alpha = _series(stats, "alpha")
    if res[0] or alpha[0]:
        curves = {"resolution (px)": res}
        svg_res = _plot("growth: resolution", curves, "pixels", logy=True, steps=True)
        svg_alpha = _plot("growth: fade-in alpha", {"alpha": alpha}, "alpha")
        return "".join(s for s in (svg_res, svg_alpha) if s) or None
    events = [h for h in (growth or {}).get("history") or [] if isinstance(h, dict)]
    xs, ys, spans, fade_start = [0.0], [4.0], [], None
    for h in events:
        at = _num(h.get("images_seen", h.get("at")))
        side = _side(h.get("resolution"))
        if at is None:
            continue
        if fade_start is not None:
            spans.append((fade_start, at / 1000.0))
            fade_start = None
        if side is not None:
            xs.append(at / 1000.0)
            ys.append(side)
        if h.get("fade_in") or h.get("fading"):
            fade_start = at / 1000.0
    if len(xs) < 2:
        return None
    end = max([x for x in xs] + [_kimg(r) or 0.0 for r in stats[-1:]])
    if fade_start is not None:
        spans.append((fade_start, end))
    xs.append(end)
    ys.append(ys[-1])
    return _plot("growth: resolution (shaded: fade-in)", {"resolution (px)": (xs, ys)}, "pixels", logy=True,
                 steps=True, spans=spans)


# ---------------------------------------------------------------------------- grids
def _data_uri(path: Path) -> str | None:
    try:
        return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")
    except OSError:
        return None


def _grids(run_dir: Path) -> list[dict]:
    """[{kimg, raw, ema, translate}] oldest first (data URIs; None where one is missing;
    translate: image-to-image runs' input | output | target grids)."""
    found: dict[int, dict] = {}
    folder = run_dir / "grids"
    for p in folder.iterdir() if folder.is_dir() else []:
        m = _GRID_RE.match(p.name)
        if m:
            found.setdefault(int(m.group(2)), {})[m.group(1)] = p
    keys = sorted(found)
    if len(keys) > MAX_GRIDS:
        keys = [keys[round(i * (len(keys) - 1) / (MAX_GRIDS - 1))] for i in range(MAX_GRIDS)]
    out = []
    for k in keys:
        item = {"kimg": k / 1000.0, "raw": None, "ema": None, "translate": None}
        for tag in ("raw", "ema", "translate"):
            if tag in found[k]:
                item[tag] = _data_uri(found[k][tag])
        out.append(item)
    return out


# ---------------------------------------------------------------------------- DGGAN search
def _flops(G: torch.nn.Module) -> float | None:
    """Floating-point operations of G for one image (torch's FLOP counter), or None."""
    from torch.utils.flop_counter import FlopCounterMode

    try:
        z = torch.zeros(1, G.z_dim)
        c = torch.zeros(1, dtype=torch.long) if int(getattr(G, "c_dim", 0) or 0) else None
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            G(z, c)
        return float(counter.get_total_flops())
    except Exception:  # noqa: BLE001 - a figure for a picture; never worth failing the report
        return None


def _candidate_preview(run_dir: Path, cid: str) -> dict:
    """{"grid": data URI or None, "flops": float or None} of a candidate, cached in
    candidates/<id>/preview.png and preview.json (derived files: safe to delete)."""
    folder = run_dir / "candidates" / str(cid)
    cached = _read_json(folder / "preview.json")
    png = folder / "preview.png"
    if isinstance(cached, dict) and png.is_file():
        return {"grid": _data_uri(png), "flops": _num(cached.get("flops"))}
    ckpt_path = folder / "checkpoint.pt"
    if not ckpt_path.is_file():
        return {"grid": None, "flops": None}
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
        st = ckpt["state"]
        G = build_generator(st["spec"])
        G.load_state_dict(st["G_ema"])
        alpha = (st.get("growth") or {}).get("alpha")
        if hasattr(G, "alpha") and _num(alpha) is not None:
            G.alpha = float(alpha)
        G.eval()
        z = torch.randn(16, G.z_dim, generator=torch.Generator().manual_seed(123))
        c = torch.arange(16) % G.c_dim if int(getattr(G, "c_dim", 0) or 0) else None
        with torch.no_grad():
            imgs = G(z, c).float()
        grid = make_grid(imgs, ncols=4)  # uint8 [C, H, W]
        flops = _flops(G)
    except Exception:  # noqa: BLE001 - a damaged candidate file: the tree still shows its row
        return {"grid": None, "flops": None}
    try:
        from PIL import Image

        arr = grid.permute(1, 2, 0).numpy()
        img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
        up = max(1, 96 // max(img.width // 4, 1))
        img = img.resize((img.width * up, img.height * up), Image.NEAREST)
        with atomic_path(png) as tmp:
            img.save(tmp, format="PNG")
        atomic_write_text(folder / "preview.json", json.dumps({"flops": flops}))
    except (GrowganError, OSError):  # a read-only search folder: shown, not cached
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        return {"grid": "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(), "flops": flops}
    return {"grid": _data_uri(png), "flops": flops}


def _search(run_dir: Path, config: dict | None) -> dict | None:
    rows = read_jsonl(run_dir / "search.jsonl")
    if not rows:
        return None
    cands = [r for r in rows if r.get("type", "candidate") == "candidate" and r.get("id") is not None]
    steps = [r for r in rows if r.get("type") == "step"]
    metric = str(((config or {}).get("growth") or {}).get("search", {}).get("metric") or "score")
    kept = {str(i) for s in steps[-1:] for i in s.get("survivors") or []}
    ever = {str(i) for s in steps for i in s.get("survivors") or []}
    parent = {str(c["id"]): (str(c["parent"]) if c.get("parent") is not None else None) for c in cands}
    best = _read_json(run_dir / "best.json")
    best_id = str(best["id"]) if isinstance(best, dict) and best.get("id") is not None else (
        str(steps[-1]["survivors"][0]) if steps and steps[-1].get("survivors") else None)
    lineage, node = [], best_id
    while node is not None and node not in lineage:
        lineage.append(node)
        node = parent.get(node)
    nodes = []
    for c in cands:
        cid = str(c["id"])
        scores = c.get("scores") if isinstance(c.get("scores"), dict) else {}
        spread = _num(c.get("score_std", c.get("spread", scores.get(f"{metric.replace('-', '_')}_std"))))
        preview = _candidate_preview(run_dir, cid)
        flops = _num(c.get("flops")) if _num(c.get("flops")) is not None else preview["flops"]
        status = "kept" if cid in kept else ("survived a step" if cid in ever else "pruned")
        nodes.append({"id": cid, "parent": parent[cid], "step": c.get("step"), "action": str(c.get("action", "n/a")),
                      "arch": str(c.get("arch", "")), "score": _num(c.get("score")), "spread": spread,
                      "flops": flops, "wall_s": _num(c.get("wall_s")), "kimg": _num(c.get("kimg")),
                      "status": status, "best": cid in lineage, "grid": preview["grid"],
                      "scores": {k: v for k, v in scores.items() if _num(v) is not None}})
    return {"metric": metric, "nodes": nodes, "lineage": list(reversed(lineage)), "steps": len(steps)}


def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return "n/a"
    if unit == "flops":
        return f"{v / 1e6:.3g} MFLOPs"
    if unit == "s":
        return f"{v:.1f} s"
    return f"{v:.4g}"


def _tree_html(search: dict) -> str:
    children: dict[str | None, list[dict]] = {}
    ids = {n["id"] for n in search["nodes"]}
    for n in search["nodes"]:
        children.setdefault(n["parent"] if n["parent"] in ids else None, []).append(n)

    def render(parent: str | None, depth: int) -> str:
        items = []
        for n in children.get(parent, []):
            score = _fmt(n["score"]) + (f" &plusmn; {_fmt(n['spread'])}" if n["spread"] is not None else "")
            cls = f"node {'kept' if n['status'] != 'pruned' else 'pruned'}{' best' if n['best'] else ''}"
            box = (f'<button type="button" class="{cls}" data-id="{html.escape(n["id"])}">'
                   f'<b>{html.escape(n["action"])}</b><span>{html.escape(search["metric"])} {score}</span>'
                   f'<span>{_fmt(n["flops"], "flops")} &middot; {_fmt(n["wall_s"], "s")} &middot; {n["status"]}</span>'
                   f'</button>')
            sub = render(n["id"], depth + 1) if depth < 200 else ""
            items.append(f"<li>{box}{sub}</li>")
        return f"<ul>{''.join(items)}</ul>" if items else ""

    return render(None, 0)


# ---------------------------------------------------------------------------- the page
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:16px 24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #ddd}
.summary span{margin-right:18px;color:#555}
.plots{display:flex;flex-wrap:wrap;gap:8px} .plots>div{background:#fff;border:1px solid #e3e3e3}
.plots svg{display:block;width:520px;height:auto}
.grids{display:flex;gap:16px;align-items:flex-start} .grids figure{margin:0;text-align:center}
.grids img{image-rendering:pixelated;width:360px;border:1px solid #ccc;background:#fff}
table{border-collapse:collapse;background:#fff} td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f0f0f0} td:first-child,th:first-child{text-align:left}
pre{background:#fff;border:1px solid #ddd;padding:8px;max-height:420px;overflow:auto;font-size:12px}
.tree ul{list-style:none;padding-left:22px;margin:0;border-left:1px dashed #bbb}
.tree>ul{border-left:none;padding-left:0} .tree li{margin:4px 0}
.node{display:inline-flex;flex-direction:column;text-align:left;border:1px solid #999;border-radius:4px;
padding:3px 8px;background:#fff;cursor:pointer;font:12px system-ui,sans-serif;max-width:none;white-space:nowrap}
.node.pruned{opacity:.55;border-style:dashed} .node.kept{border-color:#2b7a2b}
.node.best{background:#fff4c2;border:2px solid #c99a00} .node.sel{outline:3px solid #3b82f6}
.searchbox{display:flex;gap:24px;align-items:flex-start} #detail{min-width:280px;background:#fff;border:1px solid #ddd;padding:8px}
#detail img{image-rendering:pixelated;width:256px;display:block;margin-top:6px}
.lineage b{background:#fff4c2;padding:1px 4px;border-radius:3px}
"""

_JS = """
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var grids = data.grids, slider = document.getElementById('grid-slider');
  function showGrid(i){
    var g = grids[i]; if(!g) return;
    ['raw','ema','translate'].forEach(function(t){
      var img = document.getElementById('grid-' + t); if(!img) return;
      if(g[t]){ img.src = g[t]; img.alt = t + ' at kimg ' + g.kimg; img.style.visibility = 'visible'; }
      else { img.removeAttribute('src'); img.style.visibility = 'hidden'; }
    });
    document.getElementById('grid-kimg').textContent = 'kimg ' + g.kimg.toFixed(3) + '  (' + (i + 1) + ' / ' + grids.length + ')';
  }
  if(slider){ slider.addEventListener('input', function(){ showGrid(+slider.value); }); showGrid(+slider.value); }
  var nodes = {}; (data.search ? data.search.nodes : []).forEach(function(n){ nodes[n.id] = n; });
  function fmt(v, d){ return (v === null || v === undefined) ? 'n/a' : (+v).toPrecision(d || 4); }
  function select(id){
    var n = nodes[id], box = document.getElementById('detail'); if(!n || !box) return;
    document.querySelectorAll('.node.sel').forEach(function(e){ e.classList.remove('sel'); });
    var el = document.querySelector('.node[data-id="' + id + '"]'); if(el) el.classList.add('sel');
    var rows = [['id', n.id], ['parent', n.parent || '-'], ['step', n.step], ['action', n.action], ['architecture', n.arch],
      [data.search.metric, fmt(n.score) + (n.spread !== null ? ' \\u00b1 ' + fmt(n.spread) : '')],
      ['G FLOPs / image', n.flops === null ? 'n/a' : fmt(n.flops / 1e6, 3) + ' M'],
      ['wall time', n.wall_s === null ? 'n/a' : n.wall_s.toFixed(1) + ' s'], ['kimg', fmt(n.kimg)], ['status', n.status]];
    Object.keys(n.scores).forEach(function(k){ rows.push([k, fmt(n.scores[k])]); });
    box.textContent = '';
    var t = document.createElement('table');
    rows.forEach(function(r){ var tr = t.insertRow(); tr.insertCell().textContent = r[0]; tr.insertCell().textContent = String(r[1]); });
    box.appendChild(t);
    if(n.grid){ var img = document.createElement('img'); img.src = n.grid; img.alt = 'grid of ' + n.id; box.appendChild(img); }
    else { var p = document.createElement('p'); p.textContent = 'no grid (candidate checkpoint missing)'; box.appendChild(p); }
  }
  document.querySelectorAll('.node').forEach(function(el){ el.addEventListener('click', function(){ select(el.dataset.id); }); });
  if(data.search && data.search.lineage.length) select(data.search.lineage[data.search.lineage.length - 1]);
})();
"""


def _metrics_table(metrics: dict[str, list[dict]]) -> str:
    rows = []
    for name, mrows in metrics.items():
        last = next((r for r in reversed(mrows) if isinstance(r.get("results"), dict) or _num(r.get("value")) is not None), None)
        if last is None:
            continue
        values = {k: v for k, v in (last.get("results") or {}).items() if _num(v) is not None} or {name: last.get("value")}
        for k, v in values.items():
            rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(str(k))}</td><td>{_fmt(_num(v))}</td>"
                        f"<td>{_fmt(_kimg(last))}</td></tr>")
    if not rows:
        return "<p>no metrics recorded</p>"
    return "<table><tr><th>metric</th><th>key</th><th>value</th><th>at kimg</th></tr>" + "".join(rows) + "</table>"


def _latest_growth(run_dir: Path) -> dict | None:
    ckpts = sorted((run_dir / "checkpoints").glob("checkpoint-*.pt")) if (run_dir / "checkpoints").is_dir() else []
    for p in reversed(ckpts):
        try:
            ckpt = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
            return (ckpt.get("state") or {}).get("growth")
        except Exception:  # noqa: BLE001 - a damaged checkpoint: try the one before
            continue
    return None


def build_report(run_dir: str | Path, growth: dict | None = None) -> str:
    """The report page of a run (or search) folder as an HTML string. `growth`: the running
    trainer's GrowthState dict (else read from the newest checkpoint)."""
    run_dir = Path(run_dir)
    config = _read_json(run_dir / "config.json")
    if not isinstance(config, dict):
        config = _read_json(run_dir / "search_config.json")  # a search folder before its final training
    config = config if isinstance(config, dict) else None
    stats = read_jsonl(run_dir / "stats.jsonl")
    metrics = {p.stem[len("metric-"):]: read_jsonl(p) for p in sorted(run_dir.glob("metric-*.jsonl"))}
    search = _search(run_dir, config)
    if config is None and not stats and not search and not (run_dir / "grids").is_dir():
        raise GrowganError(f"{run_dir}: no config.json, stats.jsonl, grids or search.jsonl; give a run or search folder")
    if growth is None and config and config.get("growth"):
        growth = _latest_growth(run_dir)
    grids = _grids(run_dir)
    last = stats[-1] if stats else {}
    name = (config or {}).get("name") or run_dir.name
    summary = [f"<span>folder <code>{html.escape(str(run_dir))}</code></span>",
               f"<span>kimg {_fmt(_kimg(last))}</span>" if last else "",
               f"<span>wall {_fmt(_num(last.get('sec_total')), 's')}</span>" if last else "",
               f"<span>network {html.escape(str(((config or {}).get('network') or {}).get('family', 'n/a')))}</span>",
               f"<span>written {time.strftime('%Y-%m-%d %H:%M:%S')}</span>"]
    parts = [f"<h1>growgan report: {html.escape(str(name))}</h1><div class='summary'>{''.join(summary)}</div>"]
    timeline = _timeline(stats, growth) if (config or {}).get("growth") or any("resolution" in r for r in stats) else None
    if timeline:
        parts.append(f"<h2>Growth timeline</h2><div class='plots' id='timeline'><div>{timeline}</div></div>")
    plots = _stat_plots(stats) + _metric_plots(metrics)
    if plots:
        parts.append("<h2>Curves</h2><div class='plots' id='curves'>" + "".join(f"<div>{p}</div>" for p in plots) + "</div>")
    if grids:
        parts.append(
            "<h2>Grids over time (fixed latents)</h2>"
            f"<input type='range' id='grid-slider' min='0' max='{len(grids) - 1}' value='{len(grids) - 1}' style='width:600px'>"
            " <span id='grid-kimg'></span><div class='grids'>"
            + ("<figure><img id='grid-translate' alt='translations'><figcaption>input | G_ema(input) | target"
               "</figcaption></figure></div>" if any(g["translate"] for g in grids) else
               "<figure><img id='grid-raw' alt='raw G'><figcaption>G (raw)</figcaption></figure>"
               "<figure><img id='grid-ema' alt='G_ema'><figcaption>G_ema</figcaption></figure></div>"))
    parts.append("<h2>Final metrics</h2>" + _metrics_table(metrics))
    if search:
        lineage = " &rarr; ".join(f"<b>{html.escape(next((n['action'] for n in search['nodes'] if n['id'] == i), i))}</b>"
                                  for i in search["lineage"]) or "n/a"
        parts.append(
            f"<h2>DGGAN search ({len(search['nodes'])} candidates, {search['steps']} steps; "
            f"selection metric {html.escape(search['metric'])}, lower is better)</h2>"
            f"<p class='lineage'>winning lineage: {lineage}</p>"
            "<p>Click a candidate for its details and grid. Solid: kept at the end or survived a step; dashed: pruned; "
            "yellow: the winning lineage.</p>"
            f"<div class='searchbox'><div class='tree' id='tree'>{_tree_html(search)}</div><div id='detail'></div></div>")
    if config is not None:
        parts.append("<h2>Resolved config</h2><details open><summary>config.json</summary><pre>"
                     + html.escape(json.dumps(config, indent=2, sort_keys=True)) + "</pre></details>")
    data = {"grids": grids, "search": search}
    payload = json.dumps(data).replace("</", "<\\/")  # nothing in the data can close the script element
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>growgan report: {html.escape(str(name))}</title><style>{_CSS}</style></head><body>"
            + "".join(parts)
            + f"<script type='application/json' id='report-data'>{payload}</script><script>{_JS}</script></body></html>")


def write_report(run_dir: str | Path, out: str | Path | None = None, growth: dict | None = None) -> Path:
    """Write the report page (default run_dir/report.html) atomically; returns its path.
    A folder that is neither a run nor a search folder -> GrowganError."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise GrowganError(f"{run_dir}: no such run folder; give a folder made by growgan train or growgan search")
    out = Path(out) if out is not None else run_dir / "report.html"
    atomic_write_text(out, build_report(run_dir, growth))
    return out


class RunReporter:
    """The training loop's report plug-in: ``reporter(run_dir, growth, final)`` rewrites
    report.html at each grid (skipped while the last one took more than `budget` of the
    time since it, so reports cost at most ~10% of training) and always at the end. A failure
    is a one-line warning on stderr, never the end of the run."""

    def __init__(self, budget: float = 0.1):
        self.budget = budget
        self._last_end = 0.0
        self._last_cost = 0.0
        self._warned = False

    def __call__(self, run_dir: Path, growth: dict | None = None, final: bool = False) -> None:
        now = time.time()
        if not final and self._last_cost > self.budget * max(now - self._last_end, 1e-9):
            return
        try:
            write_report(run_dir, growth=growth)
        except Exception as exc:  # noqa: BLE001 - a report must never cost the training run
            if not self._warned:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
                print(f"growgan: warning: report.html not written ({first}); training goes on", file=sys.stderr)
                self._warned = True
        self._last_end = time.time()
        self._last_cost = self._last_end - now
