"""The intra-op thread choice (issue #18): --threads, $OMP_NUM_THREADS, affinity / local ranks, load."""

import os

import pytest
import torch

from growgan.errors import GrowganError
from growgan.utils import threads


@pytest.fixture
def machine(monkeypatch):
    """A fake machine: `set(cpus, affinity, load)`; no OMP_NUM_THREADS, no torchrun."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)

    def set_(cpus: int, affinity: int, load: float, running: float | None = None):
        """load: the 1-minute load average; running: threads running now besides us (default: = load)."""
        monkeypatch.setattr(os, "cpu_count", lambda: cpus)
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(affinity)), raising=False)
        monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
        monkeypatch.setattr(threads, "running_now", lambda: load if running is None else running)

    return set_


def test_idle_machine_uses_every_allowed_cpu(machine):
    machine(cpus=16, affinity=16, load=0.0)
    assert threads.choose_threads().threads == 16


def test_affinity_not_machine_size(machine):
    machine(cpus=16, affinity=4, load=0.0)  # e.g. taskset -c 0-3
    assert threads.choose_threads().threads == 4


def test_divided_among_local_ranks(machine, monkeypatch):
    machine(cpus=16, affinity=16, load=0.0)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert threads.choose_threads().threads == 4
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "32")  # more ranks than CPUs: still one thread each
    assert threads.choose_threads().threads == 1


def test_capped_by_idle_cpus(machine, monkeypatch):
    machine(cpus=2, affinity=2, load=12.0)  # the loaded 2-core machine
    assert threads.choose_threads().threads == 1
    machine(cpus=16, affinity=16, load=10.0)  # 6 idle CPUs
    assert threads.choose_threads().threads == 6
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert threads.choose_threads().threads == 3


def test_busy_is_the_smaller_estimate(machine):
    machine(cpus=2, affinity=2, load=1.9, running=0.0)  # our previous command just ended: load avg lags
    assert threads.choose_threads().threads == 2
    machine(cpus=2, affinity=2, load=0.2, running=3.0)  # a burst that the load average has not seen
    assert threads.choose_threads().threads == 2
    machine(cpus=2, affinity=2, load=1.5, running=2.0)  # sustained: both agree
    assert threads.choose_threads().threads == 1


def test_running_now_reads_proc():
    n = threads.running_now()
    if n is None:
        pytest.skip("no /proc/loadavg here")
    assert n >= 0 and (2 * n).is_integer()  # a median of 5 integer counts


def test_explicit_choices_win(machine, monkeypatch):
    machine(cpus=2, affinity=2, load=12.0)
    assert threads.choose_threads(3).threads == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert threads.choose_threads().threads == 2
    assert threads.choose_threads(1).threads == 1  # --threads beats the environment


def test_bad_values_are_one_line_errors(machine, monkeypatch):
    machine(cpus=2, affinity=2, load=0.0)
    with pytest.raises(GrowganError, match="--threads 0"):
        threads.choose_threads(0)
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    with pytest.raises(GrowganError, match="OMP_NUM_THREADS"):
        threads.choose_threads()


def test_apply_sets_torch_threads(machine):
    machine(cpus=2, affinity=2, load=0.0)
    before = torch.get_num_threads()
    try:
        choice = threads.apply_threads(1)
        assert torch.get_num_threads() == 1 and threads.applied() == choice
        threads.apply_threads(2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_cli_rejects_zero_threads(capsys):
    from growgan.cli import main

    assert main(["generate", "nowhere", "--out", "x.png", "--threads", "0"]) == 2
    assert "--threads 0" in capsys.readouterr().err
