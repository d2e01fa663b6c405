#!/usr/bin/env python3
"""Walk the README as a newcomer would: every command of its ```bash blocks, in order, in a
fresh clone, timing each one.

    python scripts/walk_readme.py [--venv .venv] [--skip REGEX ...] [--threads N] [--keep-going]
                                  [--report walk.md] [--keep] [--list]

What it does:
1. `git clone` the repository (its committed HEAD; commit first) into a temporary folder, and
   link `../shared` beside the clone to the repository's `../shared` (the README's real data),
   or to --shared DIR.
2. Makes `<clone>/.venv` a light virtual environment layered on --venv (default: the
   repository's .venv): the base environment's packages are visible through a .pth file and
   growgan is imported from the clone's own src/ (so no package is downloaded). The README's
   `bash scripts/demo.sh` / `scripts/test.sh` then find everything installed; their
   `pip install -e .` reinstalls growgan from the clone into that light environment only.
3. Runs each README command with bash in the clone, with `.venv/bin` first on PATH (as after
   `source .venv/bin/activate`); a command continued with a trailing backslash is one command.
   Each command's wall time, exit status and last output lines go to the report.

--skip REGEX (repeatable) skips commands matching it, e.g. `--skip demo.sh --skip test.sh` for
the 100-kimg demo and the whole test suite. --threads N sets OMP_NUM_THREADS=N for every
command (default: unset, so growgan chooses its threads itself). It stops at the first failing
command unless --keep-going. Exit status: 0 when every command that ran succeeded.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")


def readme_commands(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, command, expected error or None) for every command of the ```bash
    blocks, in order. Blank and comment-only lines are dropped; backslash-continued lines
    are joined into one command, and so are a here-document's lines (`cat > f <<'EOF'` ...
    `EOF`). A command followed by a comment line ``# growgan: error: ...``
    documents a refusal: it is expected to exit with status 2 and print that line."""
    cmds: list[tuple[int, str, str | None]] = []
    in_block, pending, start, heredoc = False, "", 0, None
    for no, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not in_block:
            in_block = stripped == "```bash"
            continue
        if stripped.startswith("```"):
            in_block = False
            if pending:
                cmds.append((start, pending, None))
                pending = ""
            continue
        if not pending and stripped.startswith("# growgan: error:") and cmds:
            no_, cmd, _ = cmds[-1]
            cmds[-1] = (no_, cmd, stripped[2:])
            continue
        if not pending and not heredoc and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = no
        if heredoc:  # inside `cmd <<'TAG'` ... `TAG`: the lines are the command's input
            pending += line + "\n"
            if stripped == heredoc:
                cmds.append((start, pending.rstrip("\n"), None))
                pending, heredoc = "", None
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        m = _HEREDOC.search(stripped)
        if m:
            pending, heredoc = pending + stripped + "\n", m.group(1)
            continue
        cmds.append((start, pending + stripped, None))
        pending = ""
    return cmds


def make_light_venv(clone: Path, base_venv: Path) -> Path:
    """<clone>/.venv: a venv whose site-packages sees base_venv's and the clone's src/."""
    base_python = base_venv / "bin" / "python"
    if not base_python.exists():
        raise SystemExit(f"{base_venv}: no bin/python; give --venv of an environment with growgan's dependencies")
    venv = clone / ".venv"
    subprocess.run([str(base_python), "-m", "venv", "--without-pip", str(venv)], check=True)
    base_site = subprocess.run([str(base_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip()
    site = subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # src first: the clone's growgan wins over the base environment's editable install
    (Path(site) / "00-walk-readme-src.pth").write_text(str(clone / "src") + "\n")
    (Path(site) / "zz-walk-readme-base.pth").write_text(base_site + "\n")
    for tool in ("pip", "pip3"):  # demo.sh / test.sh call .venv/bin/pip: the base's pip, run by this venv's python
        shim = venv / "bin" / tool
        shim.write_text(f"#!/bin/sh\nexec \"{venv / 'bin' / 'python'}\" -m pip \"$@\"\n")
        shim.chmod(0o755)
    growgan = venv / "bin" / "growgan"
    growgan.write_text(f"#!/bin/sh\nexec \"{venv / 'bin' / 'python'}\" -m growgan \"$@\"\n")
    growgan.chmod(0o755)
    torchrun = venv / "bin" / "torchrun"
    torchrun.write_text(f"#!/bin/sh\nexec \"{venv / 'bin' / 'python'}\" -m torch.distributed.run \"$@\"\n")
    torchrun.chmod(0o755)
    return venv


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--readme", default="README.md", help="README file inside the clone (default README.md)")
    ap.add_argument("--repo", type=Path, default=REPO, help="repository to clone (default: this one)")
    ap.add_argument("--venv", type=Path, default=None, help="base environment (default: <repo>/.venv)")
    ap.add_argument("--shared", type=Path, default=None, help="the README's ../shared (default: <repo>/../shared)")
    ap.add_argument("--skip", action="append", default=[], metavar="REGEX", help="skip matching commands (repeatable)")
    ap.add_argument("--threads", type=int, default=None, help="set OMP_NUM_THREADS for every command")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per command (default 3600)")
    ap.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    ap.add_argument("--keep", action="store_true", help="keep the temporary clone (its path is printed)")
    ap.add_argument("--report", type=Path, default=None, help="write a markdown table of the times here")
    ap.add_argument("--list", action="store_true", help="only list the commands found")
    args = ap.parse_args()

    repo = args.repo.resolve()
    readme = (repo / args.readme).read_text(encoding="utf-8")
    cmds = readme_commands(readme)
    if args.list:
        for no, cmd, expect in cmds:
            print(f"{no:4d}  {cmd}" + (f"\n      expects: {expect}" if expect else ""))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="walk-readme-"))
    clone = tmp / "growgan"
    subprocess.run(["git", "clone", "--quiet", str(repo), str(clone)], check=True)
    shared = (args.shared or repo.parent / "shared").resolve()
    if shared.is_dir():
        (tmp / "shared").symlink_to(shared)
    venv = make_light_venv(clone, (args.venv or repo / ".venv").resolve())
    head = subprocess.run(["git", "-C", str(clone), "log", "--oneline", "-1"], capture_output=True, text=True).stdout.strip()
    cmds = readme_commands((clone / args.readme).read_text(encoding="utf-8"))  # the clone's (committed) README

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", VIRTUAL_ENV=str(venv), GROWGAN_CACHE=str(tmp / "cache"))
    if args.threads is not None:
        env["OMP_NUM_THREADS"] = str(args.threads)
    else:
        env.pop("OMP_NUM_THREADS", None)
    print(f"# clone of {head} in {clone}; load average {os.getloadavg()[0]:.1f}", flush=True)
    rows, failed = [], False
    for no, cmd, expect in cmds:
        if any(re.search(p, cmd) for p in args.skip):
            rows.append((no, cmd, None, "skipped", ""))
            print(f"skip  README:{no}  {cmd}", flush=True)
            continue
        if failed and not args.keep_going:
            rows.append((no, cmd, None, "not run", ""))
            continue
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=clone, env=env, capture_output=True,
                                  text=True, timeout=args.timeout)
            status, out = proc.returncode, (proc.stdout + proc.stderr)
        except subprocess.TimeoutExpired as exc:
            status, out = "timeout", str(exc.stdout or "") + str(exc.stderr or "")
        if expect is not None:  # a documented refusal: exit 2 with the documented line is success
            status = 0 if status == 2 and expect in out else f"expected exit 2 and {expect!r}, got {status}"
        dt = time.perf_counter() - t0
        tail = " / ".join(line.strip() for line in out.strip().splitlines()[-2:])[-200:]
        rows.append((no, cmd, dt, status, f"load {load:.1f}"))
        print(f"{'ok  ' if status == 0 else 'FAIL'}  {dt:7.1f} s  README:{no}  {cmd}" + ("" if status == 0 else f"\n      -> {status}: {tail}"),
              flush=True)
        failed = failed or status != 0
    total = sum(r[2] for r in rows if r[2] is not None)
    lines = [f"README walk of `{head}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}), "
             f"OMP_NUM_THREADS={'unset' if args.threads is None else args.threads}; total {total:.0f} s", "",
             "| README line | command | wall s | status | load avg at start |", "|---|---|---|---|---|"]
    for no, cmd, dt, status, note in rows:
        cmd = (cmd.splitlines()[0] + (" ... (here-document)" if "\n" in cmd else "")).replace("|", "\\|")
        lines.append(f"| {no} | `{cmd}` | {'' if dt is None else f'{dt:.1f}'} | {status} | {note.replace('load ', '')} |")
    report = "\n".join(lines) + "\n"
    print("\n" + report)
    if args.report:
        args.report.write_text(report, encoding="utf-8")
    if args.keep:
        print(f"# kept {clone}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
