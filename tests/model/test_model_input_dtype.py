"""A float32 model given float64 inputs (x64 on, e.g. NumPy data) computes in float32."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rhel
from rhel.model import batch_loss, batch_predict, make_hssm
from quadratic_unit import quadratic_unit


@pytest.mark.parametrize("unit", ["linear", "nonlinear", quadratic_unit], ids=["linear", "nonlinear", "potential"])
def test_float64_inputs_to_a_float32_model(x64, unit):
    model, state = make_hssm(unit, d_in=2, d_out=3, task="classification", hidden=4, state_size=3, blocks=2,
                             key=jr.key(0), dtype=jnp.float32)
    x = np.asarray(jr.normal(jr.key(1), (2, 8, 2), jnp.float64))
    mask, y = jnp.ones((2, 8), bool), jnp.array([0, 2])
    fn = eqx.filter_jit(eqx.filter_value_and_grad(batch_loss, has_aux=True))  # one compile per dtype and method
    for gradient in (rhel.BPTT(), rhel.RHEL()):
        (loss, _), grads = fn(model, state, x, y, mask, key=jr.key(2), gradient=gradient)
        (loss32, _), grads32 = fn(model, state, x.astype(np.float32), y, mask, key=jr.key(2), gradient=gradient)
        assert loss.dtype == jnp.float32 and loss == loss32
        for g, g32 in zip(jax.tree.leaves(grads), jax.tree.leaves(grads32)):
            assert g.dtype == jnp.float32
            assert jnp.allclose(g, g32, rtol=1e-6, atol=1e-7)
    assert batch_predict(model, state, x, mask).dtype == jnp.float32
