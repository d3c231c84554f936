"""Timing and peak-memory measurement inside one worker process.

Time: the step is compiled (ahead of time, timed separately), run ``warmup`` times untimed, then
``repeats`` times, each call ended by ``jax.block_until_ready``; the median of those wall-clock times is
"the time of one step". Memory: on a CPU the process's resident-set high-water mark
(``getrusage(RUSAGE_SELF).ru_maxrss``), which counts the JAX runtime, the compiler and every buffer the
step allocates, read three times (after the set-up, after compilation, at the end) so that a reader can
tell the runtime's floor from the step's own peak; on a GPU/TPU also the device allocator's
``peak_bytes_in_use``.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from typing import Any, Callable

import jax


def peak_rss_mb() -> float:
    """The process's peak resident set size so far, in MB (ru_maxrss is KB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def device_peak_mb() -> float | None:
    """Peak device memory in MB from the allocator statistics (GPU/TPU), or None on a CPU."""
    device = jax.devices()[0]
    if device.platform == "cpu":
        return None
    stats = device.memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


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

    for _ in range(warmup):
        carry = jax.block_until_ready(compiled(carry, data))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        carry = jax.block_until_ready(compiled(carry, data))
        times.append(time.perf_counter() - t0)
    return {
        "time_s": statistics.median(times),
        "times_s": times,
        "compile_s": compile_s,
        "rss_setup_mb": rss_setup,
        "rss_compiled_mb": rss_compiled,
        "peak_rss_mb": peak_rss_mb(),
        "device_peak_mb": device_peak_mb(),
        "finite": bool(_all_finite(carry)),
    }


def _all_finite(tree) -> bool:
    import jax.numpy as jnp

    leaves = [x for x in jax.tree.leaves(tree) if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)]
    return all(bool(jnp.all(jnp.isfinite(x))) for x in leaves)
