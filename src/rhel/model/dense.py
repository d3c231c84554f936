"""An affine map applied at every step of a sequence, as one matrix product in the natural layout.

``jax.vmap(eqx.nn.Linear)`` over the steps of an (L, I) sequence computes ``W x_t`` for every t: one
``dot_general(W, x)`` whose result comes out as (O, L) and is transposed back to (L, O). On a CPU, XLA
then asks the matrix kernel for the transposed layout and adds a transposing copy on each side of it
(fused with the elementwise work around it, which then runs with strided writes). Written as
``x Wᵀ + b``, the same product keeps the steps on the rows: nothing is transposed in the forward pass.
At the EigenWorms shape (batch 4, L = 4,000, H = 64) that took a quarter off the training-mode forward
pass of both HSSMs and 7–13 % off their training steps (docs/performance.md, finding 24).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


def per_step(linear: eqx.nn.Linear, x: Float[Array, "L I"]) -> Float[Array, "L O"]:
    """``y_t = W x_t + b`` for every step t of ``x``, computed as ``x Wᵀ + b`` (same values as
    ``jax.vmap(linear)(x)`` up to the order of the sums)."""
    y = jnp.matmul(x, linear.weight.T)
    return y if linear.bias is None else y + linear.bias


__all__ = ["per_step"]
