"""`rhel.allocator.retain_freed_memory`: a large buffer freed and allocated again is not faulted in again.

The allocator settings are process-wide, so each check runs in a fresh Python process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rhel import allocator

glibc_only = pytest.mark.skipif(allocator._glibc() is None, reason="retain_freed_memory acts on glibc only")

#: Allocate, touch and free a 48 MB buffer (above glibc's largest mmap threshold, 32 MB; below the 64 MB
#: of a thread's own heap) the way XLA allocates a step's temporaries: from the main thread and from a
#: worker thread that lives on, as a thread pool's does. One warm-up round, then report the minor page
#: faults and the resident-set growth of a second round.
_PROBE = r"""
import ctypes, json, resource
from concurrent.futures import ThreadPoolExecutor
from rhel.allocator import retain_freed_memory
retained = retain_freed_memory()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
SIZE = 48 << 20

def cycle():
    p = libc.malloc(SIZE)
    ctypes.memset(p, 1, SIZE)
    libc.free(p)

def rss_mb():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024

with ThreadPoolExecutor(1) as pool:
    def round_():
        cycle()
        pool.submit(cycle).result()
    round_()
    rss = rss_mb()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    round_()
    print(json.dumps({"retained": retained,
                      "faults_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) * 4 / 1024,
                      "growth_mb": rss_mb() - rss}))
"""


def _probe(retain: str = "1"):
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120,
                            env={**os.environ, allocator.ENVIRONMENT_VARIABLE: retain})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@glibc_only
def test_a_freed_buffer_is_reused_without_page_faults():
    kept = _probe()
    assert kept["retained"] is True
    # the second round's two 48 MB buffers, one from the worker thread: neither is faulted in again,
    # and the process does not grow
    assert kept["faults_mb"] < 8, kept
    assert kept["growth_mb"] < 8, kept


@glibc_only
def test_without_it_every_large_buffer_is_faulted_in_again():
    # the contrast that makes the test above mean something: glibc's default maps and unmaps them
    default = _probe(retain="0")
    assert default["retained"] is False
    assert default["faults_mb"] >= 2 * 48, default


@pytest.mark.parametrize("value", ["0", "false", "No", " off "])
def test_the_environment_turns_it_off(monkeypatch, value):
    monkeypatch.setenv(allocator.ENVIRONMENT_VARIABLE, value)
    monkeypatch.setattr(allocator, "_glibc", lambda: pytest.fail("the allocator must not be touched"))
    assert allocator.retain_freed_memory() is False


def test_it_does_nothing_outside_linux(monkeypatch):
    monkeypatch.setenv(allocator.ENVIRONMENT_VARIABLE, "1")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator._glibc() is None
    assert allocator.retain_freed_memory() is False


@pytest.mark.parametrize("command", ["train", "compare"])
def test_the_training_commands_set_it_up_before_they_run(monkeypatch, command):
    import importlib

    from rhel.cli import main as cli

    calls = []
    monkeypatch.setattr(cli, "retain_freed_memory", lambda: calls.append("retain"))
    monkeypatch.setattr(importlib.import_module(f"rhel.cli.{command}"), "run",
                        lambda args: calls.append(command) or 0)
    assert cli.main([command, "--dataset", "ACSF1"]) == 0
    assert calls == ["retain", command]


def test_other_commands_leave_the_allocator_alone(monkeypatch):
    from rhel.cli import main as cli

    monkeypatch.setattr(cli, "retain_freed_memory", lambda: pytest.fail("only training commands set it up"))
    assert cli.main(["data", "list"]) == 0


@glibc_only
def test_release_free_memory_hands_the_kept_pages_back():
    # with retain_freed_memory a freed 200 MB buffer stays resident; release_free_memory returns it
    script = r"""
import ctypes, json
from rhel.allocator import release_free_memory, retain_freed_memory
assert retain_freed_memory()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def rss_mb():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")) / 1024
before = rss_mb()
p = libc.malloc(200 << 20)
ctypes.memset(p, 1, 200 << 20)
libc.free(p)
kept = rss_mb()
release_free_memory()
print(json.dumps({"kept_mb": kept - before, "after_mb": rss_mb() - before}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, allocator.ENVIRONMENT_VARIABLE: "1"})
    assert result.returncode == 0, result.stderr
    sizes = json.loads(result.stdout.strip().splitlines()[-1])
    assert sizes["kept_mb"] > 190, sizes
    assert sizes["after_mb"] < 10, sizes
