"""``jax.random.bits`` of a threefry key, bit for bit, as one fused elementwise kernel on a CPU.

JAX draws the bits of a threefry key with the Threefry-2x32 block cipher (Salmon et al., 2011): for the
i-th 32-bit word, the 64-bit counter i as two words ``(hi, lo)`` is encrypted under the key ``(k₁, k₂)``
by 20 rounds ``x₁ ← x₁ + x₂, x₂ ← rotl(x₂, r) ⊕ x₁`` (rotations ``r`` 13, 15, 26, 6 and 17, 29, 16, 24
in turn), with the key schedule ``(k₁, k₂, k₁ ⊕ k₂ ⊕ 0x1BD11BDA)`` injected after every four rounds;
the word is ``x₁ ⊕ x₂`` (``jax_threefry_partitionable``, JAX's default).

On a CPU, JAX lowers those rounds as a loop of five iterations to keep compile times short, and XLA
then runs each iteration as its own kernels and copies the whole state between iterations. At the
EigenWorms shape that made the dropout masks a large part of an HSSM's forward pass. :func:`bits`
writes the same rounds out as plain ``uint32`` arithmetic, which XLA fuses into one kernel, and falls
back to ``jax.random.bits`` for any other generator or setting (docs/performance.md, finding 25).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, PRNGKeyArray, UInt32

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotate_left(x: Array, r: int) -> Array:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(
    key: tuple[Array, Array], count: tuple[Array, Array]
) -> tuple[UInt32[Array, "*shape"], UInt32[Array, "*shape"]]:
    """Threefry-2x32 with 20 rounds: the two words of the ciphertext of the counter words ``count``
    under the key words ``key`` (scalars or arrays that broadcast against the counters)."""
    schedule = (key[0], key[1], key[0] ^ key[1] ^ _PARITY)
    x1, x2 = count[0] + schedule[0], count[1] + schedule[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = _rotate_left(x2, r) ^ x1
        x1 = x1 + schedule[(i + 1) % 3]
        x2 = x2 + schedule[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def bits(key: PRNGKeyArray, n: int) -> UInt32[Array, " n"]:
    """``n`` random 32-bit words: exactly ``jax.random.bits(key, (n,), jnp.uint32)``."""
    partitionable = getattr(jax.config, "jax_threefry_partitionable", True)  # the only scheme once removed
    if str(jr.key_impl(key)) != "threefry2x32" or not partitionable or n >= 2**32:
        return jr.bits(key, (n,), jnp.uint32)
    k1, k2 = jr.key_data(key)
    low = jnp.arange(n, dtype=jnp.uint32)  # the counters' high words are 0 below 2³²
    x1, x2 = threefry2x32((k1, k2), (jnp.zeros_like(low), low))
    return x1 ^ x2


__all__ = ["bits", "threefry2x32"]
