"""Timing and peak-memory measurement inside one worker process.

Time: the step is compiled (ahead of time, timed separately), run ``warmup`` times untimed, then
``repeats`` times, each call ended by ``jax.block_until_ready``; the median of those wall-clock times is
"the time of one step" (the median CPU time of the process, all threads, is recorded too: on a shared
machine it is less sensitive to other processes than the wall clock). :func:`time_interleaved` times
several steps round by round in one process, for ratios that a drifting machine does not decide.

Memory, on a CPU, from the process's resident-set high-water mark:

* ``peak_rss_mb``: the whole process (:func:`rhel.training.results.peak_rss_mb`, the address space's
  high-water mark, combined with the mark read before the reset below): the JAX runtime, the XLA
  compiler and every buffer the steps allocate;
* ``step_peak_rss_mb``: the high-water mark while the steps run. On Linux, after compilation the heap
  memory the compiler freed is handed back to the OS (glibc ``malloc_trim``) and the mark is reset
  (``/proc/self/clear_refs``, value 5), then read back from ``VmHWM`` in ``/proc/self/status`` at the
  end, so the compiler's own peak (which does not grow with L for a scan) is left out; ``None`` where
  that is not available;
* ``rss_setup_mb`` / ``rss_compiled_mb``: the mark after building the model and data, and after
  compilation, so that a reader can tell the runtime's floor from the step's own peak.

On a GPU/TPU the device allocator's ``peak_bytes_in_use`` is reported as ``device_peak_mb``.

``buffers_mb``, on any backend: the compiled step's own buffers as XLA planned them
(:func:`compiled_buffers_mb`: arguments + outputs + the peak of the temporaries, donated arguments counted
once) — what the step needs whatever runs it, without the runtime's or the compiler's memory. It is what a
GPU's device-memory statistics measure, and on a CPU the part of the RSS that the method decides.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import jax

from rhel.allocator import release_free_memory
from rhel.training.results import peak_rss_mb, vm_hwm_mb


def reset_peak_rss() -> bool:
    """Reset the kernel's resident-set high-water mark of this process (Linux ≥ 4.0); False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def device_peak_mb() -> float | None:
    """Peak device memory in MB from the allocator statistics (GPU/TPU), or None on a CPU."""
    device = jax.devices()[0]
    if device.platform == "cpu":
        return None
    stats = device.memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


def compiled_buffers_mb(compiled: Any) -> float | None:
    """MB of buffers a compiled XLA program needs: arguments + outputs + peak temporaries − aliased.

    ``temp_size_in_bytes`` is the size of the one preallocated block XLA's buffer assignment packs every
    temporary into (the peak of their simultaneous liveness, not their sum). None if the backend gives
    no memory analysis.
    """
    try:
        analysis = compiled.memory_analysis()
    except (AttributeError, NotImplementedError, RuntimeError):
        return None
    if analysis is None:
        return None
    size = (
        analysis.argument_size_in_bytes
        + analysis.output_size_in_bytes
        + analysis.temp_size_in_bytes
        - analysis.alias_size_in_bytes
    )
    return size / 2**20


def time_step(
    step: Callable[..., Any],
    carry: Any,
    data: Any,
    *,
    repeats: int,
    warmup: int,
) -> dict[str, Any]:
    """Compile, warm up and time ``carry = step(carry, data)``; return times (s) and memory (MB).

    ``step`` is a ``jax.jit``-wrapped function whose output is its next ``carry`` (a training step
    returning the updated parameters and optimiser state, and the loss), so that every timed call does
    real work on fresh values; ``data`` (the batch) is passed as an argument, never baked into the
    compiled program as a constant.
    """
    rss_setup = peak_rss_mb()
    t0 = time.perf_counter()
    compiled = step.lower(carry, data).compile()
    compile_s = time.perf_counter() - t0
    rss_compiled = peak_rss_mb()
    release_free_memory()
    can_reset = reset_peak_rss()

    for _ in range(warmup):
        carry = jax.block_until_ready(compiled(carry, data))
    times, cpu_times = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        carry = jax.block_until_ready(compiled(carry, data))
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    return {
        "time_s": statistics.median(times),
        "times_s": times,
        "cpu_time_s": statistics.median(cpu_times),
        "compile_s": compile_s,
        "rss_setup_mb": rss_setup,
        "rss_compiled_mb": rss_compiled,
        "peak_rss_mb": max(rss_compiled, peak_rss_mb()),
        "step_peak_rss_mb": vm_hwm_mb() if can_reset else None,
        "device_peak_mb": device_peak_mb(),
        "buffers_mb": compiled_buffers_mb(compiled),
        "finite": bool(_all_finite(carry)),
    }


def time_interleaved(
    steps: dict[str, tuple[Callable[..., Any], Any, Any]], *, rounds: int, warmup: int
) -> dict[str, dict[str, Any]]:
    """Time several steps in this process, **interleaved**: each round runs every step once, in turn.

    ``steps`` maps a name to ``(step, carry, data)`` as for :func:`time_step`. All steps are compiled and
    warmed up first; then ``rounds`` rounds time each step once. On a machine whose speed drifts (a
    shared host), every step sees the same drift, so their *ratios* are far steadier than those of
    steps timed minutes apart in separate processes. Returns ``{name: {"time_s": median, "times_s":
    [...]}}``. (Memory is not measured here: one process holds every step.)
    """
    compiled, carries = {}, {}
    for name, (step, carry, data) in steps.items():
        compiled[name] = step.lower(carry, data).compile()
        for _ in range(warmup):
            carry = jax.block_until_ready(compiled[name](carry, data))
        carries[name] = carry
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, (_, _, data) in steps.items():
            t0 = time.perf_counter()
            carries[name] = jax.block_until_ready(compiled[name](carries[name], data))
            times[name].append(time.perf_counter() - t0)
    return {name: {"time_s": statistics.median(t), "times_s": t} for name, t in times.items()}


def _all_finite(tree) -> bool:
    import jax.numpy as jnp

    leaves = [x for x in jax.tree.leaves(tree) if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)]
    return all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)
