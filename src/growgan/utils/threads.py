"""How many intra-op threads a growgan command computes with.

PyTorch's default is one thread per core of the machine, whatever the process may use and
whatever else runs. On a shared CPU that is the wrong number: two OpenMP threads on two
cores that other processes also want wait on each other at every parallel region, and a
`dcgan-32` training ran ~10x slower with them than with one thread at load ~12
(issue #18; `benchmarks/train.md`, "Thread choice"). growgan therefore chooses:

1. ``--threads N`` when given (N >= 1);
2. else ``$OMP_NUM_THREADS`` when set (the user's explicit choice, as torch honours it);
3. else the CPUs this process may run on (``os.sched_getaffinity(0)``, so ``taskset`` and
   container CPU sets count), divided among the processes of this node under torchrun
   (``$LOCAL_WORLD_SIZE``), and no more than the CPUs the rest of the machine leaves idle,
   shared among the local processes, at least 1. Busy CPUs are the smaller of two estimates:
   the 1-minute load average (smooth, but it still counts a command that ended seconds ago)
   and the threads running right now other than this one (``/proc/loadavg``, median of 5
   samples 10 ms apart; blind to load that comes and goes).

The choice is made once, when a command starts; it is printed in train logs. Results on
the CPU can differ in the last bits between thread counts, so a bit-identical resume needs
the same ``--threads`` as the run it continues.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from growgan.errors import GrowganError


@dataclass(frozen=True)
class ThreadChoice:
    """threads: intra-op threads chosen; reason: one line saying why (for logs)."""

    threads: int
    reason: str


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask; os.cpu_count() where there is none)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS / Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def local_processes() -> int:
    """Processes of this job on this node: $LOCAL_WORLD_SIZE under torchrun, else 1."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def running_now() -> float | None:
    """Threads of the machine running or runnable now, this one excluded (median of 5 reads of
    /proc/loadavg's "running/total" field, 10 ms apart); None where there is no /proc."""
    import statistics
    import time

    counts = []
    for i in range(5):
        try:
            with open("/proc/loadavg", encoding="ascii") as f:
                counts.append(int(f.read().split()[3].split("/")[0]) - 1)
        except (OSError, ValueError, IndexError):
            return None
        if i < 4:
            time.sleep(0.01)
    return float(max(0.0, statistics.median(counts)))


def idle_cpus() -> float | None:
    """CPUs of the machine that other processes leave idle: cpu_count minus the smaller of the
    1-minute load average and `running_now()` (None where neither is known)."""
    busy = []
    try:
        busy.append(os.getloadavg()[0])
    except (AttributeError, OSError):
        pass
    now = running_now()
    if now is not None:
        busy.append(now)
    if not busy:
        return None
    return (os.cpu_count() or 1) - min(busy)


def choose_threads(requested: int | None = None) -> ThreadChoice:
    """The intra-op thread count for this process (see the module docstring for the rules).

    requested: ``--threads`` (None: choose). Raises GrowganError for requested < 1 or an
    unparsable ``$OMP_NUM_THREADS``.
    """
    if requested is not None:
        if int(requested) < 1:
            raise GrowganError(f"--threads {requested}: must be at least 1")
        return ThreadChoice(int(requested), "--threads")
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env:
        try:
            n = int(env.split(",")[0])
        except ValueError:
            raise GrowganError(f"OMP_NUM_THREADS={env!r}: not a number; unset it or give --threads N") from None
        if n >= 1:
            return ThreadChoice(n, "OMP_NUM_THREADS")
    cpus, ranks = usable_cpus(), local_processes()
    share = max(1, cpus // ranks)
    idle = idle_cpus()
    if idle is not None:
        free = max(1, int(round(idle / ranks)))
        if free < share:
            return ThreadChoice(free, f"{cpus} usable CPU(s) / {ranks} local process(es), "
                                      f"capped by {max(idle, 0):.1f} idle CPU(s)")
    return ThreadChoice(share, f"{cpus} usable CPU(s) / {ranks} local process(es)")


_applied: ThreadChoice | None = None


def apply_threads(requested: int | None = None) -> ThreadChoice:
    """Choose (see `choose_threads`) and set torch's intra-op threads; returns the choice.

    Call it before the first parallel torch operation of a command.
    """
    global _applied
    choice = choose_threads(requested)
    import torch

    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)
    _applied = choice
    return choice


def applied() -> ThreadChoice | None:
    """The choice `apply_threads` made in this process, or None."""
    return _applied


def add_threads_argument(parser) -> None:
    """Add ``--threads N`` to a command's argparse parser."""
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="intra-op CPU threads (default: the CPUs this process may use, divided among "
                             "torchrun's local processes and capped by the idle CPUs; $OMP_NUM_THREADS if set)")
