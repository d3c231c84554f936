"""Output heads of the HSSM.

* :class:`ClassificationHead`: masked mean over time → linear → log-softmax (log-probabilities).
* :class:`RegressionHead`: the outputs at steps ``output_step − 1, 2·output_step − 1, …`` (T = L // output_step
  of them) → linear → tanh.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from rhel.model.dense import per_step


class ClassificationHead(eqx.Module):
    """``log_softmax(W · mean_{t: mask_t} x_t + b)``."""

    linear: eqx.nn.Linear

    def __init__(self, hidden: int, classes: int, *, key: PRNGKeyArray, dtype=None):
        self.linear = eqx.nn.Linear(hidden, classes, key=key, dtype=dtype)

    def __call__(self, x: Float[Array, "L H"], mask: Bool[Array, " L"]) -> Float[Array, " K"]:
        pooled = jnp.sum(jnp.where(mask[:, None], x, 0), axis=0) / jnp.maximum(jnp.sum(mask), 1).astype(x.dtype)
        return jax.nn.log_softmax(self.linear(pooled))


class RegressionHead(eqx.Module):
    """``tanh(W x_t + b)`` at every ``output_step``-th step."""

    linear: eqx.nn.Linear
    output_step: int = eqx.field(static=True)

    def __init__(self, hidden: int, d_out: int, output_step: int, *, key: PRNGKeyArray, dtype=None):
        self.linear = eqx.nn.Linear(hidden, d_out, key=key, dtype=dtype)
        self.output_step = int(output_step)

    def __call__(self, x: Float[Array, "L H"], mask: Bool[Array, " L"]) -> Float[Array, "T D"]:
        del mask  # outputs at padded steps are excluded by the loss
        s = self.output_step
        picked = x[s - 1 :: s][: x.shape[0] // s]
        return jnp.tanh(per_step(self.linear, picked))
