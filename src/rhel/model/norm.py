"""Masked batch normalisation with deliberate, documented semantics.

Training (``inference=False``): every feature is normalised with the mean and the (biased) variance of the
*current batch*, taken over all examples and all valid time steps (``mask``) — the usual batch-norm
semantics. Padding never enters the statistics. The statistics are differentiated through (by
:func:`normalize`'s written-out derivative, which keeps one (L, H) array for the backward pass instead of
three; the norm sits outside the HRUs, so it is identical for BPTT and RHEL). A running average
``r ← m·r + (1 − m)·batch`` (``m = momentum``, stop-gradient) is returned for the model state (the HSSM keeps
the running statistics of all its norms in one state entry), to be used at inference.

Inference (``inference=True``): the running averages are used and the state is returned unchanged, so
predictions of an example do not depend on the rest of its batch.

This is *not* Equinox's ``BatchNorm`` default (``mode="ema"``), which normalises training batches with
a blend dominated by the running average. The layer works on one sequence under ``jax.vmap(...,
axis_name="batch")``; the cross-example sums use ``lax.psum`` over that axis.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Bool, Float

from rhel.errors import RHELError

BATCH_AXIS = "batch"


Stats = tuple[Float[Array, " H"], Float[Array, " H"]]
"""Running (mean, variance) of one norm."""


def init_stats(features: int, dtype=None) -> Stats:
    """Running statistics before any training batch: mean 0, variance 1."""
    dtype = jnp.result_type(float) if dtype is None else dtype
    return jnp.zeros((features,), dtype), jnp.ones((features,), dtype)


class MaskedBatchNorm(eqx.Module):
    """Batch norm over (batch, valid time steps) with a learned affine ``γ ⊙ x̂ + β``.

    Stateless: the running statistics are passed in and the updated ones returned.
    """

    weight: Float[Array, " H"]
    bias: Float[Array, " H"]
    momentum: float = eqx.field(static=True)
    eps: float = eqx.field(static=True)

    def __init__(self, features: int, *, momentum: float = 0.99, eps: float = 1e-5, dtype=None):
        dtype = jnp.result_type(float) if dtype is None else dtype
        self.weight = jnp.ones((features,), dtype)
        self.bias = jnp.zeros((features,), dtype)
        self.momentum = float(momentum)
        self.eps = float(eps)

    def __call__(
        self,
        x: Float[Array, "L H"],
        mask: Bool[Array, " L"],
        stats: Stats,
        *,
        inference: bool,
    ) -> tuple[Float[Array, "L H"], Stats]:
        run_mean, run_var = stats
        if inference:
            y = _standardise(x, run_mean.astype(x.dtype), run_var.astype(x.dtype), self.eps)
        else:
            try:
                y, mean, var = normalize(x, mask, self.eps)
            except NameError as e:  # unbound axis name
                raise RHELError(
                    "Training-mode batch norm needs the batch: call the model through rhel.model.batch_loss "
                    f"or under jax.vmap(..., axis_name={BATCH_AXIS!r}); for one sequence use inference=True."
                ) from e
            mom = self.momentum
            stats = (
                mom * run_mean + (1 - mom) * lax.stop_gradient(mean).astype(run_mean.dtype),
                mom * run_var + (1 - mom) * lax.stop_gradient(var).astype(run_var.dtype),
            )
        return y * self.weight + self.bias, stats


def _standardise(
    x: Float[Array, "L H"], mean: Float[Array, " H"], var: Float[Array, " H"], eps: float
) -> Float[Array, "L H"]:
    """``x̂ = (x − μ)/√(σ² + eps)``."""
    return (x - mean) * lax.rsqrt(var + eps)


def _batch_statistics(x: Float[Array, "L H"], m: Float[Array, "L 1"]):
    """``(N, μ, σ²)``: the count of valid steps and their mean and biased variance, over the batch axis."""
    count = jnp.maximum(lax.psum(jnp.sum(m), BATCH_AXIS), 1)
    mean = lax.psum(jnp.sum(m * x, axis=0), BATCH_AXIS) / count
    var = lax.psum(jnp.sum(m * (x - mean) ** 2, axis=0), BATCH_AXIS) / count
    return count, mean, var


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def normalize(
    x: Float[Array, "L H"], mask: Bool[Array, " L"], eps: float
) -> tuple[Float[Array, "L H"], Float[Array, " H"], Float[Array, " H"]]:
    """``(x̂, μ, σ²)`` with ``x̂ = (x − μ)/√(σ² + eps)`` and the masked batch statistics ``μ, σ²`` of ``x``.

    Called under ``jax.vmap(..., axis_name="batch")``. Its derivative is written out so that reverse mode
    keeps only ``x̂`` (and the mask and ``r = 1/√(σ² + eps)``), not the three further (L, H) arrays plain
    autodiff of the statistics keeps. With ``ẋ`` the tangent of ``x``, ``m`` the mask and ``N = Σm``
    (sums over the batch and the steps)::

        μ̇ = Σ mẋ / N,    c = Σ mẋ x̂ / N,    x̂̇ = r (ẋ − μ̇ − x̂ c),    σ̇² = 2c / r

    (the mean's tangent drops out of ``σ̇²`` because ``Σ m(x − μ) = 0``).
    """
    _, mean, var = _batch_statistics(x, mask.astype(x.dtype)[:, None])
    return _standardise(x, mean, var, eps), mean, var


@normalize.defjvp
def _normalize_jvp(eps, primals, tangents):
    (x, mask), (dx, _) = primals, tangents
    m = mask.astype(x.dtype)[:, None]
    count, mean, var = _batch_statistics(x, m)
    r = lax.rsqrt(var + eps)
    x_hat = _standardise(x, mean, var, eps)
    m_dx = m * dx
    d_mean = lax.psum(jnp.sum(m_dx, axis=0), BATCH_AXIS) / count
    c = lax.psum(jnp.sum(m_dx * x_hat, axis=0), BATCH_AXIS) / count
    return (x_hat, mean, var), (r * (dx - d_mean - x_hat * c), d_mean, 2.0 * c / r)
