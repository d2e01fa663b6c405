"""Start-up time of the `growgan` command: what `--version` and `--help` cost before any work.

    .venv/bin/python benchmarks/bench_startup.py [--src OTHER/src ...] [--rounds 5]

For each source tree (default: this checkout's src/; add e.g. an older checkout's src/ to
compare) and each of `growgan --version`, `growgan --help`, `growgan train --help`, it runs
`python -X importtime -m growgan ...` in a fresh process, interleaved round by round so that
load from other processes hits every variant alike, and reports the median wall time and
the median total import time with the heavy packages (torch, numba, scipy, tensorboard) the
command imported. Results: benchmarks/startup.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("torch", "numba", "scipy", "tensorboard")
COMMANDS = (["--version"], ["--help"], ["train", "--help"])


def run_once(src: Path, argv: list[str]) -> tuple[float, float, set[str]]:
    """(wall s, summed top-level import time s, heavy packages imported)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "growgan", *argv], env=env,
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    total_us, heavy = 0, set()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, field = line[len("import time:"):].split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        name = field.strip()
        if len(field) - len(field.lstrip()) == 1:  # top level (nested imports are indented further)
            total_us += int(cumulative)  # nested ones are inside their parent's cumulative time
        top = name.split(".")[0]
        if top in HEAVY:
            heavy.add(top)
    return wall, total_us / 1e6, heavy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, action="append", default=None, help="source trees to compare (repeatable)")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    srcs = args.src or [Path(__file__).resolve().parents[1] / "src"]
    res: dict[tuple[str, str], list[tuple[float, float, set[str]]]] = {}
    loads = []
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for src in srcs:
            for argv in COMMANDS:
                res.setdefault((str(src), " ".join(argv)), []).append(run_once(src, argv))
    print(f"load average during the run: {min(loads):.1f} - {max(loads):.1f}; {args.rounds} rounds\n")
    print("| source | command | wall s (median) | import s (median) | heavy packages imported |")
    print("|---|---|---|---|---|")
    for (src, cmd), runs in res.items():
        wall = statistics.median(r[0] for r in runs)
        imp = statistics.median(r[1] for r in runs)
        heavy = ", ".join(sorted(set().union(*(r[2] for r in runs)))) or "none"
        print(f"| `{src}` | `growgan {cmd}` | {wall:.2f} | {imp:.2f} | {heavy} |")


if __name__ == "__main__":
    main()
