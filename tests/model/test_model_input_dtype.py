"""A float32 model given float64 inputs (x64 on, e.g. NumPy data) computes in float32."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jaxprs import avals, equations

import rhel
from rhel.model import batch_loss, batch_predict, make_hssm
from quadratic_unit import quadratic_unit


def _is_float64(aval) -> bool:
    """A float64 value that is not a weakly typed Python constant (those take the other operand's type)."""
    return getattr(aval, "dtype", None) == jnp.float64 and not getattr(aval, "weak_type", False)


@pytest.mark.parametrize("unit", ["linear", "nonlinear", quadratic_unit], ids=["linear", "nonlinear", "potential"])
def test_float64_inputs_to_a_float32_model(x64, unit):
    """The inputs are cast to float32 once, first: no other operation of the loss and both methods'
    gradients reads or makes a float64 value (checked on the traced computation, where an operation
    promoted to float64 anywhere, in a scan or a custom derivative, would show)."""
    model, state = make_hssm(unit, d_in=2, d_out=3, task="classification", hidden=4, state_size=3, blocks=2,
                             key=jr.key(0), dtype=jnp.float32)
    x = np.asarray(jr.normal(jr.key(1), (2, 8, 2), jnp.float64))
    mask, y = jnp.ones((2, 8), bool), jnp.array([0, 2])
    for gradient in (rhel.BPTT(), rhel.RHEL()):

        def step(model, x):
            loss = eqx.filter_value_and_grad(batch_loss, has_aux=True)
            return loss(model, state, x, y, mask, key=jr.key(2), gradient=gradient)

        jaxpr = eqx.filter_make_jaxpr(step)(model, x)[0].jaxpr
        float64 = [eqn for eqn in equations(jaxpr) if any(map(_is_float64, avals(eqn)))]
        assert [(eqn.primitive.name, str(eqn.outvars[0].aval)) for eqn in float64] == [
            ("convert_element_type", "float32[2,8,2]")
        ], gradient
        (loss, _), grads = eqx.filter_jit(step)(model, x)
        assert loss.dtype == jnp.float32 and bool(jnp.isfinite(loss))
        leaves = jax.tree.leaves(eqx.filter(grads, eqx.is_inexact_array))
        assert leaves and all(g.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(g))) for g in leaves)
    assert batch_predict(model, state, x, mask).dtype == jnp.float32
