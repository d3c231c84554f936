"""A float32 unit given float64 inputs (x64 on): gradients come back in the parameters' dtype, under RHEL
as under BPTT."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

import rhel
from rhel.units.nonlinear import nonlinear_hru
from rhel.units.potential import PotentialHRU


def quadratic(phi, u, params):
    return 0.5 * jnp.sum(params["a"] ** 2 * phi**2) - phi @ (params["B"] @ u)


def _units():
    f32 = jnp.float32
    params = {"a": jnp.ones(3, f32), "B": jnp.ones((3, 4), f32)}
    return {
        "nonlinear": nonlinear_hru(4, 3, key=jr.key(0), dtype=f32),
        "potential": PotentialHRU(quadratic, params, hidden=4, state=3, key=jr.key(1), dt=0.2, dtype=f32),
    }


@pytest.mark.parametrize("name", ["nonlinear", "potential"])
@pytest.mark.parametrize("gradient", [rhel.BPTT(), rhel.RHEL()], ids=["bptt", "rhel"])
def test_float64_inputs_give_gradients_in_the_parameters_dtype(x64, name, gradient):
    hru = _units()[name]
    u = jr.normal(jr.key(2), (10, 4), jnp.float64)

    @eqx.filter_jit
    def grads(u):
        return eqx.filter_grad(lambda h: jnp.sum(h(u, gradient=gradient) ** 2))(hru)

    wide, narrow = grads(u), grads(u.astype(jnp.float32))
    for g, n, p in zip(jax.tree.leaves(wide), jax.tree.leaves(narrow),
                       jax.tree.leaves(eqx.filter(hru, eqx.is_inexact_array))):
        assert g.dtype == p.dtype == jnp.float32
        assert jnp.allclose(g, n, rtol=1e-4, atol=1e-5)
