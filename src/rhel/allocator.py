"""Keep the memory a training step frees, so that the next step reuses it instead of faulting it in again.

On Linux with glibc, ``malloc`` serves every request above its mmap threshold (at most 32 MB on a 64-bit
machine) with a fresh ``mmap`` and gives it back to the kernel on ``free``. XLA on a CPU allocates a
step's temporaries anew at every execution: for a training step of an HSSM these are tens of MB to GBs
(batch × L × H activations and their cotangents), so every step page-faulted all of them in again (the
kernel zeroes each 4 KB page on its first touch). At the EigenWorms shape that was a fifth to a half
of a training step's time (``docs/performance.md``, finding 23).

:func:`retain_freed_memory` sets three of glibc's ``mallopt`` parameters:

* ``M_MMAP_MAX = 0``: large requests come from the heap too, so a freed buffer can be reused;
* ``M_TRIM_THRESHOLD = 2³¹ − 1``: the heap's free top is not handed back to the kernel below 2 GiB;
* ``M_ARENA_MAX = 1``: every thread allocates from the one heap. With a heap per thread, a buffer freed
  into one thread's heap is not found by the next step's request from another thread, and the process
  kept a step's temporaries twice or more (resident while the steps ran, glibc's defaults / the first
  two settings / all three: BPTT at L = 4,000, 485 / 599 / 484 MB; in a bench run with the first two,
  the nonlinear HSSM's RHEL step at L = 18,000 peaked at 1,194 MB, against 792 MB with all three).

The next step then reuses the pages of the last. The process's resident set stays near its high-water
mark between steps instead of falling back; the mark itself does not grow.

The price of one heap was a lock: the threads of XLA's runtime take it for their small allocations, which
a loop dispatched kernel by kernel made at every iteration. The generic engine's forward step (``rhel
bench --suite engine``, P = 32: a scan of 20,000 small leapfrog steps, temporaries below the mmap
threshold, so no faults to save) took 26 ms instead of 15 ms. Since each such loop is compiled into one
kernel (:func:`rhel.compile_small_loops`) the price is gone: 7.0–7.4 ms with one heap against 6.9–8.1 ms
without, and at P = 256 (a loop too large for one kernel) within the machine's drift
(``docs/performance.md``, finding 30). The setting still belongs to the processes that train HSSMs, where
it saves the faults: ``rhel train`` and ``rhel compare`` (and their child processes), and the bench
workers of the HSSM suite; the library never calls it on import (it changes the whole process's
allocator), and a script that trains an HSSM with the library calls it once, before its first step.
``RHEL_RETAIN_FREED_MEMORY=0`` in the environment turns it off. Elsewhere (macOS, Windows, a libc that is
not glibc) it does nothing and returns False.

Layer: imports only :mod:`rhel.environment`, nothing of the layers, so any layer may use it.
"""

from __future__ import annotations

import ctypes
import sys

from rhel.environment import switched_off

#: glibc's ``mallopt`` parameters (``<malloc.h>``).
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8

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
    if switched_off(ENVIRONMENT_VARIABLE):
        return False
    libc = _glibc()
    if libc is None:
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success, 0 on error.
    return all([libc.mallopt(M_MMAP_MAX, 0), libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD),
                libc.mallopt(M_ARENA_MAX, 1)])


def release_free_memory() -> None:
    """Return the heap's free pages to the kernel (glibc ``malloc_trim(0)``, whatever the trim threshold),
    e.g. so that the memory the compiler freed stops counting as resident; a no-op where the C library
    is not glibc."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
