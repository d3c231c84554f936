"""Run a list of configurations, each in a fresh Python process, and collect their results.

The parent never imports JAX: it only starts ``python -m rhel.bench.worker '<config JSON>'`` and reads
the result line back, so one configuration's compiled programs, caches and allocator high-water mark can
never inflate another's measurement.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Any, Callable, Iterable

from rhel.bench.config import Config
from rhel.bench.worker import RESULT_PREFIX

#: How much of a failed worker's standard error to keep in its result.
STDERR_TAIL = 2000


def run_one(config: Config, *, timeout: float | None = None) -> dict[str, Any]:
    """Measure ``config`` in a fresh process; return the worker's result or ``{"error": ...}``."""
    command = [sys.executable, "-m", "rhel.bench.worker", config.to_json()]
    base = {"config": json.loads(config.to_json())}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**base, "error": f"timed out after {timeout:g} s (raise --timeout or shorten --lengths)"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    reason = f"worker exited with code {proc.returncode}"
    if proc.returncode < 0 or proc.returncode == 137:
        reason += " (killed: out of memory?)"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "no error output"
    return {**base, "error": f"{reason}: {last}", "stderr": proc.stderr[-STDERR_TAIL:]}


def run_all(
    configs: Iterable[Config],
    *,
    timeout: float | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Measure every configuration in turn, each in its own process."""
    results = []
    for config in configs:
        result = run_one(config, timeout=timeout)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """The machine and software a run was measured on (recorded next to the numbers)."""
    try:
        memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("rhel", "jax", "jaxlib", "equinox", "optax", "diffrax")},
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }
