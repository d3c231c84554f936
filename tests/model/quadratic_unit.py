"""A user-defined HRU for the model tests: a PotentialHRU of a quadratic potential."""

import jax.numpy as jnp
import jax.random as jr

from rhel.units.potential import PotentialHRU


def quadratic(phi, u, params):
    """``V = ½ Σ a_i² φ_i² − φᵀ B u``."""
    return 0.5 * jnp.sum(params["a"] ** 2 * phi**2) - phi @ (params["B"] @ u)


def quadratic_unit(hidden, state, *, key):
    """A :class:`PotentialHRU` of :func:`quadratic` with random ``a`` ∈ [0.5, 1.5) and ``B``, δ = 0.2."""
    ka, kb, ku = jr.split(key, 3)
    params = {"a": jr.uniform(ka, (state,), minval=0.5, maxval=1.5), "B": jr.normal(kb, (state, hidden))}
    return PotentialHRU(quadratic, params, hidden=hidden, state=state, key=ku, dt=0.2)
