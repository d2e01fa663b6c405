"""DGGAN (Liu et al., AAAI 2021) against Progressive GAN at equal training FLOPs, search included.

Per dataset and seed, five runs ("arms"), each trained by the growgan CLI in its own process
with one thread, pinned to one core (`taskset`):

- ``dggan``: `growgan search --preset <dggan preset>` (search + the best trained on);
  its total training FLOPs (every candidate + the final continuation) set the budget.
- ``progan_flops``: `progan-mnist-32` (the CPU-sized ProGAN, also used on CIFAR-10) with its
  4 stabilise + 3 fade phases scaled so its training FLOPs equal DGGAN's total.
- ``progan_wall``: the same ProGAN scaled to DGGAN's one-core time (search + final,
  candidates' scoring included) from the progan_flops run's measured speed; time is CPU
  seconds of the pinned one-thread process (wall seconds, inflated by whatever else shares
  the core, are reported beside).
- ``found_scratch``: the found architecture retrained from scratch on a fixed ProGAN-style
  schedule (a stage at a time, equal stabilise and fade phases), at DGGAN's FLOPs.
- ``progan_found_widths``: ProGAN's layout at the found widths per resolution, at DGGAN's FLOPs.

FLOPs are sized with growgan.training.flops.schedule_flops and the counts the runs record
are reported. Every model (G_ema) is scored on --eval-images generated images (latent seed
2024) against the training archive: SWD per level and mean (x1e3; growgan's SWD takes as
many reals as fakes), and fid-classifier with the one --classifier file. Results go to
OUT/results.json as each run finishes (re-running the same command resumes: finished runs
are kept, an interrupted search resumes from its candidates, other interrupted runs restart),
and OUT/report.md gets mean, std and paired per-seed differences with 95% t intervals,
grids of every arm from the same latents, the found architectures and the search's choices.

    python benchmarks/bench_dggan.py --dataset mnist --data mnist32 --classifier clf-mnist.pt \\
        --out bench-dggan --seeds 0 1 2 3 4 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT / "src"))
GROWGAN = [sys.executable, "-m", "growgan"]
ARMS = ("dggan", "progan_flops", "progan_wall", "found_scratch", "progan_found_widths")
DEPS = {"dggan": (), "progan_flops": ("dggan",), "progan_wall": ("progan_flops",),
        "found_scratch": ("dggan",), "progan_found_widths": ("dggan",)}
PROGAN_PRESET = "progan-mnist-32"
LOCK = threading.Lock()


# --------------------------------------------------------------------------- helpers
def log(msg: str) -> None:
    with LOCK:
        print(time.strftime("%H:%M:%S ") + msg, flush=True)


def run(cmd: list[str], core: int | None, logfile: Path) -> tuple[float, float]:
    """Run `cmd` (pinned to `core`), output to `logfile`; returns (wall seconds, CPU seconds).
    CPU seconds (user + system of the process and its children) are the one-core time that
    other processes sharing the core do not inflate; wall seconds are reported beside them."""
    if core is not None and _has_taskset():
        cmd = ["taskset", "-c", str(core)] + cmd
    logfile.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with open(logfile, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=ENV, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"failed ({proc.returncode}): {' '.join(cmd)}; see {logfile}")
    return time.time() - t0, usage.ru_utime + usage.ru_stime


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None


def find_run(runs: Path, name: str) -> Path | None:
    found = sorted(p for p in runs.glob(f"*-{name}") if p.is_dir()) if runs.is_dir() else []
    return found[-1] if found else None


def checkpoint_extra(run_dir: Path) -> dict:
    from growgan.training.checkpoint import latest_checkpoint

    return latest_checkpoint(run_dir)[1]["extra"]


def eval_tag(args) -> dict:
    """What the scores of a run were computed with; runs scored otherwise are scored again."""
    return {"fake_images": args.eval_images, "swd_reals": args.eval_images, "fid_classifier_reals": "all",
            "classifier": str(args.classifier), "latent_seed": 2024}


def commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def score(run_dir: Path, args, core=None) -> dict:
    """Score G_ema in a separate one-thread process (the orchestrator stays light), pinned to
    `core`: SWD on --eval-images fakes against as many reals drawn from the whole archive
    (ProGAN's SWD takes equal counts), fid-classifier against every real image of the archive."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--score", str(run_dir), "--data", args.data,
           "--eval-images", str(args.eval_images)] + (["--classifier", args.classifier] if args.classifier else [])
    if core is not None and _has_taskset():
        cmd = ["taskset", "-c", str(core)] + cmd
    out = subprocess.run(cmd, env=ENV, cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"scoring {run_dir} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def score_main(args) -> None:
    import torch

    from growgan.metrics import evaluate_generator
    from growgan.training.checkpoint import load_generator

    torch.set_num_threads(1)
    names = ["swd"] + (["fid-classifier"] if args.classifier else [])
    G = load_generator(Path(args.score), ema=True)
    res = evaluate_generator(G, args.data, names, args.eval_images, seed=2024, classifier=args.classifier,
                             num_reals="all", cache_dir=Path(args.data).parent / ".growgan-bench-cache")
    print(json.dumps({k: float(v) for k, v in res.items()}))


# --------------------------------------------------------------------------- run configs
def progan_config(data: str, kimg: float, channels: list[int] | None = None):
    """progan-mnist-32 with its 7 phases scaled to `kimg`; optional per-stage channels."""
    from growgan.training.presets import get_preset

    cfg = get_preset(PROGAN_PRESET)
    phase = kimg / 7.0
    growth = dict(cfg.growth, stabilise_kimg=phase, fade_kimg=phase)
    net = json.loads(json.dumps(cfg.network))
    if channels:
        net["G"]["channels"] = net["D"]["channels"] = list(channels)
    return cfg.copy(kimg=kimg, growth=growth, network=net, tensorboard=False, grid_kimg=kimg, checkpoint_kimg=kimg,
                    log_kimg=max(kimg / 10, 0.5))


def found_config(dggan_cfg: dict, spec: dict, kimg: float):
    """The found net from scratch on a fixed ProGAN-style schedule: stage 0 stabilises, then
    each further stage (all its layers at once) fades in and stabilises, equal phases."""
    from growgan.training.config import TrainConfig

    cfg = TrainConfig.from_dict(dggan_cfg)
    n = len(spec["G"]["stages"])
    phase = kimg / (2 * n - 1)
    start = json.loads(json.dumps(spec))
    start["G"]["stages"], start["D"]["stages"] = spec["G"]["stages"][:1], spec["D"]["stages"][:1]
    history = [{"op": "grow-resolution", "g_layers": spec["G"]["stages"][i], "d_layers": spec["D"]["stages"][i],
                "at": int(round((2 * i - 1) * phase * 1000))} for i in range(1, n)]
    growth = {"kind": "dggan", "fade_kimg": phase, "history": history,
              "batch_sizes": (cfg.growth or {}).get("batch_sizes", {})}
    return cfg.copy(network=start, growth=growth, kimg=kimg, tensorboard=False, grid_kimg=kimg,
                    checkpoint_kimg=kimg, log_kimg=max(kimg / 10, 0.5))


def found_widths(spec: dict) -> list[int]:
    """ProGAN channels per stage (4, 8, 16, 32 px) from a found spec: at each resolution the
    widest layer of G and D there (ours); the 4x4 stage takes the 8x8 value."""
    per_res = [max(l["w"] for l in spec["G"]["stages"][i] + spec["D"]["stages"][i]) for i in range(len(spec["G"]["stages"]))]
    return [per_res[0]] + per_res


def kimg_for_flops(make, data: str, target: float, probe_kimg: float = 8.0) -> float:
    """The length at which a config whose phases scale with its length counts `target` FLOPs."""
    from growgan.growth import build_trainer
    from growgan.training.flops import schedule_flops

    kimg = probe_kimg
    for _ in range(2):  # FLOPs are linear in the length up to batch rounding; a second pass corrects it
        f = schedule_flops(build_trainer(make(kimg), data, verbose=False), kimg)
        kimg = kimg * target / f
    return kimg


def train_config(config, name: str, seed: int, core, args, out: Path) -> tuple[Path, float]:
    runs = out / "runs"
    cfg_path = out / "configs" / f"{name}.json"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(json.dumps(config.to_dict(), indent=1))
    old = find_run(runs, name)
    if old is not None:  # an interrupted run: start it again from scratch (its wall time must be whole)
        import shutil

        shutil.rmtree(old)
    wall, cpu = run(GROWGAN + ["train", "--config", str(cfg_path), "--data", args.data, "--out", str(runs),
                               "--seed", str(seed), "--name", name, "--quiet"], core, out / "logs" / f"{name}.log")
    return find_run(runs, name), wall, cpu


# --------------------------------------------------------------------------- the arms
def arm_dggan(key: tuple, res: dict, core, args, out: Path) -> dict:
    ds, seed, _ = key
    name = f"{ds}-dggan-s{seed}"
    runs = out / "runs"
    old = find_run(runs, name)
    cmd = GROWGAN + ["search", "--quiet"]
    if old is not None:
        cmd += ["--resume", str(old), "--data", args.data]
    else:
        cmd += ["--preset", args.dggan_preset, "--data", args.data, "--out", str(runs), "--seed", str(seed),
                "--name", name, "--set", "tensorboard=false"] + [x for s in args.set for x in ("--set", s)]
    wall, cpu = run(cmd, core, out / "logs" / f"{name}.log")
    rd = find_run(runs, name)
    final = json.loads((rd / "final.json").read_text())
    return {"run": str(rd), "flops": final["total_flops"], "search_flops": final["search_flops"],
            "final_flops": final["final_flops"], "wall_s": wall, "cpu_s": cpu, "resumed": old is not None,
            "kimg": final["images_seen"] / 1000, "search_images": final["search_images"], "spec": final["spec"],
            "search_config": json.loads((rd / "search_config.json").read_text())}


def arm_progan(key, res, core, args, out, kimg: float, channels=None, tag="progan_flops") -> dict:
    ds, seed, _ = key
    name = f"{ds}-{tag}-s{seed}"
    rd, wall, cpu = train_config(progan_config(args.data, kimg, channels), name, seed, core, args, out)
    extra = checkpoint_extra(rd)
    return {"run": str(rd), "flops": extra["flops"], "wall_s": wall, "cpu_s": cpu, "train_s": extra.get("train_s"), "kimg": kimg,
            **({"channels": channels} if channels else {})}


def do_arm(key: tuple, res: dict, core, args, out: Path) -> dict:
    ds, seed, arm = key
    dg = res.get(f"{ds}/s{seed}/dggan")
    if arm == "dggan":
        rec = arm_dggan(key, res, core, args, out)
    elif arm == "progan_flops":
        kimg = kimg_for_flops(lambda k: progan_config(args.data, k), args.data, dg["flops"])
        rec = arm_progan(key, res, core, args, out, kimg)
    elif arm == "progan_wall":
        pf = res[f"{ds}/s{seed}/progan_flops"]
        # equal one-core time: ProGAN's length scaled by DGGAN's CPU seconds over its own
        rec = arm_progan(key, res, core, args, out, pf["kimg"] * dg["cpu_s"] / pf["cpu_s"], tag="progan_wall")
    elif arm == "progan_found_widths":
        ch = found_widths(dg["spec"])
        kimg = kimg_for_flops(lambda k: progan_config(args.data, k, ch), args.data, dg["flops"])
        rec = arm_progan(key, res, core, args, out, kimg, ch, tag="progan_found_widths")
    elif arm == "found_scratch":
        make = lambda k: found_config(dg["search_config"], dg["spec"], k)  # noqa: E731
        kimg = kimg_for_flops(make, args.data, dg["flops"])
        name = f"{ds}-found_scratch-s{seed}"
        rd, wall, cpu = train_config(make(kimg), name, seed, core, args, out)
        extra = checkpoint_extra(rd)
        rec = {"run": str(rd), "flops": extra["flops"], "wall_s": wall, "cpu_s": cpu, "train_s": extra.get("train_s"), "kimg": kimg}
    else:
        raise ValueError(arm)
    rec["scores"] = score(Path(rec["run"]), args, core)
    rec["eval"] = eval_tag(args)
    rec["commit"] = commit()
    rec["core"] = core
    return rec


# --------------------------------------------------------------------------- scheduling
def save(res: dict, path: Path) -> None:
    from growgan.utils.io import atomic_write_json

    atomic_write_json(path, res)


def schedule(args, out: Path) -> dict:
    path = out / "results.json"
    res = json.loads(path.read_text()) if path.is_file() else {}
    # every seed's DGGAN first, then the main comparison, then the controls: an interrupted
    # benchmark leaves the most important pairs finished
    todo = [(args.dataset, s, a) for a in ARMS for s in args.seeds if a in args.arms]
    # finished runs scored by another evaluation are scored again first (no retraining)
    rescore = [k for k in todo if f"{k[0]}/s{k[1]}/{k[2]}" in res and res[f"{k[0]}/s{k[1]}/{k[2]}"].get("eval") != eval_tag(args)]
    todo = rescore + [k for k in todo if f"{k[0]}/s{k[1]}/{k[2]}" not in res]
    running: set = set()
    failed: set = set()
    cv = threading.Condition()

    def ready(k):
        if k in rescore:
            return True
        return all(f"{k[0]}/s{k[1]}/{d}" in res for d in DEPS[k[2]])

    def worker(idx: int) -> None:
        core = idx % (os.cpu_count() or 1)
        while True:
            with cv:
                while True:
                    pending = [k for k in todo if k not in running and k not in failed]
                    if not pending:
                        return
                    blocked = [k for k in pending if any((k[0], k[1], d) in failed for d in DEPS[k[2]])]
                    for k in blocked:
                        failed.add(k)
                    job = next((k for k in pending if k not in failed and ready(k)), None)
                    if job is not None:
                        running.add(job)
                        todo.remove(job)
                        break
                    if not running:
                        return
                    cv.wait()
            log(f"start {job} on core {core}")
            try:
                if job in rescore:
                    rec = dict(res[f"{job[0]}/s{job[1]}/{job[2]}"])
                    rec["scores"], rec["eval"] = score(Path(rec["run"]), args, core), eval_tag(args)
                    rec.setdefault("commit", "3d594b9")  # the snapshot the first MNIST seeds were trained at
                else:
                    rec = do_arm(job, res, core, args, out)
                with cv:
                    res[f"{job[0]}/s{job[1]}/{job[2]}"] = rec
                    save(res, path)
                log(f"done  {job}: {json.dumps(rec.get('scores'))} {rec['flops'] / 1e12:.2f} TFLOP {rec['wall_s']:.0f} s")
            except Exception as exc:  # noqa: BLE001 - record and go on with what does not depend on it
                log(f"FAILED {job}: {exc}")
                with cv:
                    failed.add(job)
            finally:
                with cv:
                    running.discard(job)
                    cv.notify_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return res


# --------------------------------------------------------------------------- report
def t_interval(diffs: list[float]) -> tuple[float, float, float]:
    from scipy import stats

    m = statistics.mean(diffs)
    if len(diffs) < 2:
        return m, math.nan, math.nan
    h = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return m, m - h, m + h


def report(res: dict, ds: str, out: Path) -> str:
    rows = {a: {int(k.split("/")[1][1:]): v for k, v in res.items() if k.startswith(f"{ds}/") and k.endswith("/" + a)}
            for a in ARMS}
    seeds = sorted(rows["dggan"])
    if not seeds:
        return f"## {ds}: no finished DGGAN run\n"
    keys = sorted({m for a in ARMS for r in rows[a].values() for m in r["scores"]}, key=lambda m: (m != "swd", m))
    lines = [f"## {ds} (seeds with a finished run per arm in brackets)", "",
             "| arm | n | " + " | ".join(keys) + " | training TFLOP | CPU s | wall s | kimg |", "|---" * (len(keys) + 6) + "|"]
    for a in ARMS:
        rs = [rows[a][s] for s in sorted(rows[a])]
        if not rs:
            continue
        cell = lambda v: f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}" if len(v) > 1 else f"{v[0]:.2f}"  # noqa: E731
        cols = [cell([r["scores"][m] for r in rs]) for m in keys]
        lines.append(f"| {a} | {len(rs)} [{','.join(str(s) for s in sorted(rows[a]))}] | " + " | ".join(cols)
                     + f" | {cell([r['flops'] / 1e12 for r in rs])} | {cell([r['cpu_s'] for r in rs])} | {cell([r['wall_s'] for r in rs])}"
                     + f" | {cell([r['kimg'] for r in rs])} |")
    lines += ["", "Paired per-seed differences, arm - DGGAN (positive: DGGAN lower, i.e. better), mean [95% t interval];"
              " relative: (mean of arm - mean of DGGAN) / mean of arm over the paired seeds.", "",
              "| arm | metric | n | difference | 95% interval | relative |", "|---|---|---|---|---|---|"]
    for a in ARMS[1:]:
        common = [s for s in seeds if s in rows[a]]
        for m in ("swd", "fid_classifier"):
            if not common or m not in rows["dggan"][common[0]]["scores"]:
                continue
            d = [rows[a][s]["scores"][m] - rows["dggan"][s]["scores"][m] for s in common]
            rel = statistics.mean(d) / statistics.mean(rows[a][s]["scores"][m] for s in common)
            mean, lo, hi = t_interval(d)
            lines.append(f"| {a} | {m} | {len(d)} | {mean:.2f} | [{lo:.2f}, {hi:.2f}] | {100 * rel:.0f}% |")
    lines += ["", "Per seed (SWD mean / fid-classifier):", "", "| seed | " + " | ".join(ARMS) + " |", "|---" * (len(ARMS) + 1) + "|"]
    for s in seeds:
        cells = []
        for a in ARMS:
            r = rows[a].get(s)
            cells.append("" if r is None else f"{r['scores']['swd']:.1f} / {r['scores'].get('fid_classifier', math.nan):.1f}")
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    from growgan.networks.dggan import describe

    lines += ["", "Found architectures:", ""] + [f"- seed {s}: `{describe(rows['dggan'][s]['spec'])}`" for s in seeds]
    lines += ["", search_choices([Path(rows["dggan"][s]["run"]) for s in seeds]), ""]
    grids(rows, seeds, ds, out)
    lines.append("Grids (G_ema, 36 samples from the same latents; left to right: " + ", ".join(ARMS) + "): "
                 + ", ".join(f"[seed {s}](grids-{ds}-s{s}.png)" for s in seeds))
    return "\n".join(lines) + "\n"


def search_choices(run_dirs: list[Path]) -> str:
    """How often each kind of action was proposed and kept, and the kernels of the found nets."""
    from collections import Counter

    proposed, kept, kernels = Counter(), Counter(), {"G": Counter(), "D": Counter()}
    for rd in run_dirs:
        rows = [json.loads(x) for x in (rd / "search.jsonl").read_text().splitlines() if x.strip()]
        survivors = {i for r in rows if r["type"] == "step" for i in r["survivors"]}
        for r in rows:
            if r["type"] == "candidate" and r["parent"]:
                kind = r["action"].split("(")[0]
                proposed[kind] += 1
                kept[kind] += r["id"] in survivors
        best = json.loads((rd / "best_spec.json").read_text())
        for net in ("G", "D"):
            for stage in best[net]["stages"]:
                for layer in stage:
                    kernels[net][layer["k"]] += 1
    parts = [f"{k}: kept {kept[k]} of {proposed[k]}" for k in sorted(proposed)]
    ks = "; ".join(f"{net} kernels " + ", ".join(f"{k}x{k}: {n}" for k, n in sorted(c.items())) for net, c in kernels.items())
    return "Search choices over all searches: " + "; ".join(parts) + f". Found nets: {ks}."


def grids(rows: dict, seeds: list[int], ds: str, out: Path) -> None:
    import torch

    from growgan.training.checkpoint import load_generator
    from growgan.utils.image import make_grid, save_image, to_uint8

    for s in seeds:
        panels = []
        for a in ARMS:
            r = rows[a].get(s)
            if r is None:  # a blank panel keeps the arms' order
                panels.append(None)
                continue
            G = load_generator(Path(r["run"]), ema=True)
            z = torch.randn(36, G.z_dim, generator=torch.Generator().manual_seed(0))
            with torch.no_grad():
                img = G(z)
            if img.shape[-1] != 32:
                img = torch.nn.functional.interpolate(img, size=(32, 32), mode="nearest")
            panels.append(make_grid(to_uint8(img), ncols=6, pad=2))
        ref = next(p for p in panels if p is not None)
        panels = [torch.full_like(ref, 255) if p is None else p for p in panels]
        gap = torch.full((ref.shape[0], ref.shape[1], 8), 255, dtype=torch.uint8)
        pic = panels[0]
        for p in panels[1:]:
            pic = torch.cat([pic, gap, p], dim=2)
        save_image(pic, out / f"grids-{ds}-s{s}.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="mnist", help="a label for the results (mnist, cifar10)")
    ap.add_argument("--data", required=True, help="the 32x32 training archive (growgan dataset prepare)")
    ap.add_argument("--out", help="benchmark folder (results.json, report.md, runs/, logs/)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    ap.add_argument("--jobs", type=int, default=2, help="runs at once, one thread each, worker i pinned to core i")
    ap.add_argument("--dggan-preset", default="dggan-mnist-32")
    ap.add_argument("--set", action="append", default=[], help="override for the DGGAN search (growgan --set)")
    ap.add_argument("--eval-images", type=int, default=10000)
    ap.add_argument("--classifier", help="fid-classifier file (growgan metrics train-classifier), the same for every run")
    ap.add_argument("--report", action="store_true", help="only write report.md and the grids from results.json")
    ap.add_argument("--score", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.score:
        return score_main(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "src"))
    if args.report:
        res = json.loads((out / "results.json").read_text())
    else:
        res = schedule(args, out)
    text = report(res, args.dataset, out)
    (out / f"report-{args.dataset}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
