"""Compile small loops into one kernel each, so that a recurrence is not dispatched step by step.

A Hamiltonian unit runs its forward pass, BPTT's backward pass and the RHEL echo as ``lax.scan`` loops of
L steps over small arrays: at the EigenWorms shape one step of the nonlinear unit works on (batch 4, P = 16)
= 64 numbers. XLA on a CPU (JAX ≥ 0.7) runs such a loop by launching each fused kernel of its body from
its runtime at every iteration, and a launch costs more than 64 numbers' arithmetic: the nonlinear echo's
body has 19 kernels, BPTT's forward and backward bodies 13 and 10 (one HRU, batch 4, L = 4,000). XLA can
instead compile a loop whose memory traffic is small (its cost estimate, which does not grow with the
trip count: the units' loops at L = 50,000 qualify) into a single kernel, with the loop inside it. Its
threshold defaults to 1 kB, below the units' loops; it is an XLA backend option that JAX reads from
``XLA_FLAGS`` once, when it creates its CPU backend, and cannot be set per compilation.

:func:`compile_small_loops` raises the threshold to :data:`SMALL_LOOP_BYTES` (64 kB) by adding

    --xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold=65536

to ``XLA_FLAGS``. Measured (``docs/performance.md``, finding 28; nonlinear HSSM, EigenWorms shape, one
training step): L = 4,000 BPTT 78 → 54 ms, RHEL 66 → 55 ms; L = 18,000 BPTT 371 → 276 ms, RHEL 319 → 279
ms; forward pass unchanged. Shapes whose loops move more data (the SCP1 shape: batch 32, P = 256) are left
as they were, as are the linear unit's parallel scans. The results are the same up to round-off (the
loop's kernel is compiled differently).

``rhel``'s commands call it before JAX starts; the library never does on import. A script calls it once,
before its first JAX computation (after that it has no effect, and says so). It leaves ``XLA_FLAGS``
alone when the variable already sets the option (the user's value wins) and when
``RHEL_COMPILE_SMALL_LOOPS=0`` is set. It changes nothing on a GPU, whose compiler does not read the option.

Layer: imports only :mod:`rhel.environment` and not JAX (like :mod:`rhel.allocator`), so any layer may use
it.
"""

from __future__ import annotations

import os
import re
import sys
import warnings

from rhel.environment import switched_off

#: XLA's option: loops whose estimated memory traffic is below this many bytes become one kernel.
OPTION = "xla_cpu_small_while_loop_byte_threshold"

#: The threshold :func:`compile_small_loops` sets by default (XLA's own default is 1,024 bytes).
SMALL_LOOP_BYTES = 65536

#: Set to ``0`` (or ``false``, ``no``, ``off``) to leave ``XLA_FLAGS`` as it is.
ENVIRONMENT_VARIABLE = "RHEL_COMPILE_SMALL_LOOPS"


def small_loop_bytes(xla_flags: str | None = None) -> int | None:
    """The threshold that ``xla_flags`` (default: the environment's ``XLA_FLAGS``) sets, or None when it
    leaves XLA's default; the last setting counts."""
    flags = os.environ.get("XLA_FLAGS", "") if xla_flags is None else xla_flags
    found = re.findall(rf"(?:^|[=,]){OPTION}=(\d+)", flags)
    return int(found[-1]) if found else None


def _backends_started() -> bool:
    """Whether JAX has created its backends (it reads ``XLA_FLAGS`` then, and never again)."""
    bridge = sys.modules.get("jax._src.xla_bridge")
    started = getattr(bridge, "backends_are_initialized", None)
    return bool(started()) if started is not None else False


def with_small_loops(xla_flags: str, max_bytes: int) -> str:
    """``xla_flags`` with the option set to ``max_bytes`` (XLA adds up repeated
    ``--xla_backend_extra_options`` flags, so the user's other backend options stay)."""
    return f"{xla_flags} --xla_backend_extra_options={OPTION}={max_bytes}".strip()


def compile_small_loops(max_bytes: int = SMALL_LOOP_BYTES, *, warn: bool = True) -> bool:
    """Have XLA compile each small loop into one kernel (see the module docstring); returns whether the
    setting was added to ``XLA_FLAGS`` in time to take effect.

    Returns False without changing anything when ``RHEL_COMPILE_SMALL_LOOPS=0`` is set, when ``XLA_FLAGS``
    already sets the option, or when JAX's backends already exist (then with a warning, unless ``warn``
    is False). Safe to call more than once.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"max_bytes must be a non-negative integer number of bytes; got {max_bytes!r}.")
    if switched_off(ENVIRONMENT_VARIABLE):
        return False
    flags = os.environ.get("XLA_FLAGS", "")
    if OPTION in flags:
        return False
    if _backends_started():
        if warn:
            warnings.warn(
                "rhel.compile_small_loops() was called after JAX created its backends, which read "
                "XLA_FLAGS only once: it has no effect in this process. Call it before the first JAX "
                f"computation, or start the process with XLA_FLAGS='{with_small_loops('', max_bytes)}'.",
                stacklevel=2,
            )
        return False
    os.environ["XLA_FLAGS"] = with_small_loops(flags, max_bytes)
    return True
