"""Bad batches are refused with one clear message: concrete values by an RHELError before the model runs,
traced ones (under jit) by a run-time check with the same message."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import pytest

import rhel
from rhel.model import batch_loss, make_hssm


def _model(task="classification", **kw):
    return make_hssm("linear", d_in=2, d_out=3, task=task, hidden=4, state_size=3, blocks=2, key=jr.key(0),
                     output_step=4 if task == "regression" else None, **kw)


def _data(B=3, L=8):
    return jr.normal(jr.key(1), (B, L, 2)), jnp.arange(L)[None, :] < jnp.array([8, 5, 2])[:B, None]


@eqx.filter_jit
def _jitted_loss(model, state, x, y, mask):
    return batch_loss(model, state, x, y, mask, key=None, gradient=rhel.BPTT(), inference=True)[0]


@pytest.mark.parametrize("labels", [[0, 1, 3], [0, 1, -1], [1, 2, 5]])
def test_labels_outside_0_to_k_are_refused(labels):
    model, state = _model()
    x, mask = _data()
    with pytest.raises(rhel.RHELError, match=r"labels must be integers in \[0, K\) = \[0, 3\).*subtract 1"):
        batch_loss(model, state, x, jnp.array(labels), mask, key=jr.key(0), gradient=rhel.BPTT())
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"labels must be integers in \[0, K\) = \[0, 3\)"):
        _jitted_loss(model, state, x, jnp.array(labels), mask)
    assert jnp.isfinite(_jitted_loss(model, state, x, jnp.array([0, 1, 2]), mask))


def test_masks_that_are_not_valid_steps_then_padding_are_refused():
    model, state = _model()
    x, mask = _data()
    y = jnp.array([0, 1, 2])
    for bad in (mask.at[1].set(mask[1][::-1]), mask.at[0, 3].set(False)):  # left padding; a hole
        with pytest.raises(rhel.RHELError, match="mask row [01] is not a run of valid steps followed by pad"):
            batch_loss(model, state, x, y, bad, key=jr.key(0), gradient=rhel.BPTT())
    with pytest.raises(rhel.RHELError, match="mask row 2 has no valid step"):
        batch_loss(model, state, x, y, mask.at[2].set(False), key=jr.key(0), gradient=rhel.BPTT())
    with pytest.raises(rhel.RHELError, match=r"the batch is empty \(B = 0\)"):
        batch_loss(model, state, x[:0], y[:0], mask[:0], key=jr.key(0), gradient=rhel.BPTT())
