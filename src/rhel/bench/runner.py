"""Run a list of configurations, each in a fresh Python process, and collect their results.

The parent runs no JAX computation (it imports JAX, as ``import rhel`` does): it only starts
``python -m rhel.bench.worker '<config JSON>'`` and reads the result line back. Each worker measures its
own process (the peak RSS is that process's high-water mark, ``VmHWM`` on Linux), so one configuration's
compiled programs, caches and allocator high-water mark can never inflate another's measurement, and the
parent's memory is in none of them.

With ``interleave=True`` the methods of each model and length are also timed together in one more
process, interleaved round by round (:func:`rhel.bench.measure.time_interleaved`); each result then
carries ``interleaved_time_s`` next to its own ``time_s``. Ratios of times taken minutes apart in
separate processes inherit the machine's drift; interleaved ones do not.
"""

from __future__ import annotations

import itertools
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
    return _run_worker(config.to_json(), {"config": json.loads(config.to_json())}, timeout)


def run_group(configs: list[Config], *, timeout: float | None = None) -> dict[str, Any]:
    """Time ``configs`` (one per method) interleaved in one fresh process."""
    payload = "[" + ", ".join(c.to_json() for c in configs) + "]"
    return _run_worker(payload, {"group": json.loads(payload)}, timeout)


def _group_key(config: Config) -> tuple:
    fields = json.loads(config.to_json())
    fields.pop("method")
    return tuple(sorted(fields.items()))


def _run_worker(payload: str, base: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "rhel.bench.worker", payload]
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
    interleave: bool = False,
    on_group: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Measure every configuration in turn, each in its own process.

    With ``interleave``, right after the configurations of one model and length (consecutive in
    :func:`rhel.bench.plan.plan`'s order), their methods are timed together in one more process, and each
    of their results gets ``interleaved_time_s`` and ``interleaved_times_s`` (or ``interleaved_error``);
    ``on_group`` is then called with those results.
    """
    results: list[dict[str, Any]] = []
    for _, members in itertools.groupby(configs, key=_group_key):
        members = list(members)
        group_results = []
        for config in members:
            result = run_one(config, timeout=timeout)
            group_results.append(result)
            if on_result is not None:
                on_result(result)
        if interleave and len(members) > 1:
            _attach_interleaved(group_results, run_group(members, timeout=timeout))
            if on_group is not None:
                on_group(group_results)
        results.extend(group_results)
    return results


def _attach_interleaved(results: list[dict[str, Any]], group: dict[str, Any]) -> None:
    for r in results:
        if "error" in group:
            r["interleaved_error"] = group["error"]
        else:
            timing = group["interleaved"][r["config"]["method"]]
            r["interleaved_time_s"] = timing["time_s"]
            r["interleaved_times_s"] = timing["times_s"]


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
