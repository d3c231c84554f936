"""Keep the memory a training step frees, so that the next step reuses it instead of faulting it in again.

On Linux with glibc, ``malloc`` serves every request above its mmap threshold (at most 32 MB on a 64-bit
machine) with a fresh ``mmap`` and gives it back to the kernel on ``free``. XLA on a CPU allocates a
step's temporaries anew at every execution: for a training step of an HSSM these are tens of MB to GBs
(batch × L × H activations and their cotangents), so every step page-faulted all of them in again (the
kernel zeroes each 4 KB page on its first touch). At the EigenWorms shape that was a fifth to a half
of a training step's time (``docs/performance.md``, finding 23).

:func:`retain_freed_memory` sets two of glibc's ``mallopt`` parameters:

* ``M_MMAP_MAX = 0``: large requests come from the heap too, so a freed buffer can be reused;
* ``M_TRIM_THRESHOLD = 2³¹ − 1``: the heap's free top is not handed back to the kernel below 2 GiB.

The next step then reuses the pages of the last. The process's resident set stays near its high-water
mark between steps instead of falling back. Each thread keeps its own heap (glibc's arenas), so a buffer
small enough for a thread's heap (below 64 MB) may be held once per thread that allocated one: at small
L the resident set while the steps run can hold a step's temporaries twice (measured, BPTT at
L = 4,000: 599 MB against 485 MB with glibc's defaults; at L = 18,000, 912 against 911 MB). One heap for
all threads (``M_ARENA_MAX = 1``) avoids that but serialises every thread's small allocations on one
lock, and XLA's runtime makes many: the generic engine's forward step took 26 ms instead of 15 ms.
What this does not keep: a buffer above 64 MB allocated by a thread other than the main one is still
faulted in each time (seen with single 96 MB buffers); the HSSM training steps measured here had no
faults left (both models, L = 4,000 and 18,000, and the nonlinear one at the SCP1 shape).

It changes the whole process's allocator, so the library never calls it on import. The ``rhel`` command
line and the benchmark workers call it at start-up; a script that trains with the library calls it
once, before its first step. ``RHEL_RETAIN_FREED_MEMORY=0`` in the environment turns it off. Elsewhere
(macOS, Windows, a libc that is not glibc) it does nothing and returns False.

Layer: imports nothing of ``rhel`` (like :mod:`rhel.atomic`), so any layer may use it.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: glibc's ``mallopt`` parameters (``<malloc.h>``).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4

#: The largest trim threshold ``mallopt`` takes (its value is a C ``int``): a free top of the heap larger
#: than this is still handed back.
TRIM_THRESHOLD = 2**31 - 1

#: Set to ``0`` (or ``false``, ``no``, ``off``) to leave the allocator as it is.
ENVIRONMENT_VARIABLE = "RHEL_RETAIN_FREED_MEMORY"


def _glibc():
    """glibc, or None where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, the C library's among them
    except OSError:
        return None
    # musl and others have no gnu_get_libc_version (and a mallopt that does nothing).
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    return libc


def retain_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse (see the module docstring); returns whether it did.

    Safe to call more than once and from any thread; call it before the first training step (later
    calls affect only later allocations). Returns False without changing anything when
    ``RHEL_RETAIN_FREED_MEMORY=0`` is set or the C library is not glibc.
    """
    if os.environ.get(ENVIRONMENT_VARIABLE, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on error.
    return all([libc.mallopt(M_MMAP_MAX, 0), libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)])
