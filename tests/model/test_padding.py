"""Padding: whatever the padded steps hold (NaN, Inf), it never reaches the loss, the gradients or the
predictions."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

import rhel
from rhel.model import batch_loss, batch_predict, make_hssm


def _model(task):
    return make_hssm("linear", d_in=2, d_out=3, task=task, hidden=4, state_size=3, blocks=2, key=jr.key(0),
                     output_step=4 if task == "regression" else None)


@eqx.filter_jit
def _loss_and_grads(model, state, x, y, mask):
    fn = eqx.filter_value_and_grad(batch_loss, has_aux=True)
    (loss, _), grads = fn(model, state, x, y, mask, key=jr.key(2), gradient=rhel.BPTT())
    return loss, grads


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_nan_and_inf_padding_equal_zero_padding(task):
    model, state = _model(task)
    B, L = 3, 16
    x = jr.normal(jr.key(1), (B, L, 2))
    mask = jnp.arange(L)[None, :] < jnp.array([16, 11, 6])[:, None]
    if task == "classification":
        y = y_bad = jnp.array([0, 1, 2])
    else:
        y = jr.uniform(jr.key(3), (B, L // 4, 3), minval=-1, maxval=1)
        y_bad = jnp.where(mask[:, 3::4, None], y, jnp.nan)  # NaN targets at the padded target steps
    zero = jnp.where(mask[..., None], x, 0.0)
    loss, grads = _loss_and_grads(model, state, zero, y, mask)
    predict = eqx.filter_jit(batch_predict)
    pred = predict(model, state, zero, mask)
    assert jnp.isfinite(loss)
    for fill in (jnp.nan, jnp.inf, -jnp.inf):
        padded = jnp.where(mask[..., None], x, fill)
        loss_f, grads_f = _loss_and_grads(model, state, padded, y_bad, mask)
        assert loss_f == loss
        for a, b in zip(jax.tree.leaves(grads_f), jax.tree.leaves(grads)):
            assert jnp.array_equal(a, b)
        assert jnp.array_equal(predict(model, state, padded, mask), pred)
