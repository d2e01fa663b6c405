"""Pictures of a DGGAN search (Liu et al., AAAI 2021): the tree of candidates with their
scores (mean ± std over the evaluation seeds), training FLOPs and wall seconds, as a PNG
(Pillow ImageDraw) and a small HTML page, both drawn from search.jsonl."""

from __future__ import annotations

import html
import json
from pathlib import Path

from PIL import Image, ImageDraw

from growgan.utils.io import atomic_path, atomic_write_text

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 200, 57, 50, 10, 16


def read_search_log(run_dir: str | Path) -> tuple[list[dict], list[dict]]:
    """(candidate rows, step rows) of a run folder's search.jsonl (torn lines skipped)."""
    cands, steps = [], []
    path = Path(run_dir) / "search.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines() if path.is_file() else []:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        (cands if row.get("type") == "candidate" else steps).append(row)
    return cands, steps


def _best_path(cands: list[dict], steps: list[dict]) -> set[str]:
    """Ids on the lineage of the final step's best survivor."""
    if not steps:
        return set()
    parent = {c["id"]: c["parent"] for c in cands}
    node, path = steps[-1]["survivors"][0], set()
    while node is not None and node not in path:
        path.add(node)
        node = parent.get(node)
    return path


def _fmt(score) -> str:
    return "n/a" if score is None else f"{score:.3g}"


def _score(c: dict) -> str:
    std = c.get("score_std")
    return _fmt(c.get("score")) + ("" if std is None else f"±{std:.2g}")


def _cost(c: dict) -> str:
    """'1.23 GFLOP 4.5 s': the candidate's own training FLOPs and its wall seconds."""
    return f"{c.get('flops', 0) / 1e9:.3g} GFLOP {c.get('wall_s', 0):.1f} s"


def draw_tree(run_dir: str | Path) -> Path:
    """Write tree.png and tree.html into `run_dir`; returns the PNG path."""
    run_dir = Path(run_dir)
    cands, steps = read_search_log(run_dir)
    survived = {i for s in steps for i in s["survivors"]}
    best = _best_path(cands, steps)
    columns: dict[int, list[dict]] = {}
    for c in cands:
        columns.setdefault(int(c["step"]), []).append(c)
    rows = max((len(v) for v in columns.values()), default=1)
    width = MARGIN * 2 + len(columns) * (BOX_W + GAP_X)
    height = MARGIN * 2 + rows * (BOX_H + GAP_Y) + 20
    img = Image.new("RGB", (max(width, 200), max(height, 80)), "white")
    draw = ImageDraw.Draw(img)
    pos = {}
    for step, col in sorted(columns.items()):
        for r, c in enumerate(col):
            pos[c["id"]] = (MARGIN + step * (BOX_W + GAP_X), MARGIN + 20 + r * (BOX_H + GAP_Y))
        draw.text((MARGIN + step * (BOX_W + GAP_X), MARGIN), f"step {step}", fill="black")
    for c in cands:  # edges first, boxes on top
        if c["parent"] in pos:
            px, py = pos[c["parent"]]
            x, y = pos[c["id"]]
            on_best = c["id"] in best and c["parent"] in best
            draw.line([(px + BOX_W, py + BOX_H // 2), (x, y + BOX_H // 2)],
                      fill="red" if on_best else "gray", width=3 if on_best else 1)
    for c in cands:
        x, y = pos[c["id"]]
        color = "red" if c["id"] in best else ("green" if c["id"] in survived else "gray")
        draw.rectangle([x, y, x + BOX_W, y + BOX_H], outline=color, width=2 if color != "gray" else 1)
        draw.text((x + 4, y + 3), f"{c['id']}  {c['action']}", fill="black")
        draw.text((x + 4, y + 15), f"score {_score(c)}  {c['kimg']:g} kimg", fill="black")
        draw.text((x + 4, y + 28), _cost(c), fill="black")
        draw.text((x + 4, y + 41), c.get("arch", "")[:34], fill="dimgray")
    out = run_dir / "tree.png"
    with atomic_path(out) as tmp:
        img.save(tmp, format="PNG")
    _write_html(run_dir, cands, steps, survived, best)
    return out


def _write_html(run_dir: Path, cands: list[dict], steps: list[dict], survived: set, best: set) -> None:
    lines = ["<!doctype html><meta charset=utf-8><title>DGGAN search</title>",
             "<style>td{padding:2px 8px;font-family:monospace}.best{color:#c00}.kept{color:#070}</style>",
             "<h1>DGGAN search</h1><p><img src=tree.png></p><table>",
             "<tr><th>id<th>parent<th>step<th>action<th>score (± std)<th>kimg<th>GFLOP<th>wall s<th>architecture"]
    for c in cands:
        cls = "best" if c["id"] in best else ("kept" if c["id"] in survived else "")
        cells = [c["id"], c["parent"] or "", c["step"], c["action"], _score(c), f"{c['kimg']:g}",
                 f"{c.get('flops', 0) / 1e9:.3g}", f"{c['wall_s']:.1f}", c.get("arch", "")]
        lines.append(f"<tr class='{cls}'>" + "".join(f"<td>{html.escape(str(v))}" for v in cells))
    lines.append("</table><h2>Survivors per step</h2><ul>")
    for s in steps:
        lines.append(f"<li>step {s['step']}: {html.escape(', '.join(s['survivors']))}")
    lines.append("</ul>")
    atomic_write_text(run_dir / "tree.html", "\n".join(lines) + "\n")
