"""Bad batches are refused with one clear message: concrete values by an RHELError before the model runs,
traced ones (under jit) by a run-time check with the same message."""

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
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


def test_make_hssm_arguments():
    model, _ = make_hssm("linear", d_in=2, d_out=3, task="classification", hidden=np.int64(4), state_size=3,
                         blocks=np.int32(1), key=jr.key(0))
    assert model.encoder.out_features == 4 and len(model.blocks) == 1
    with pytest.raises(rhel.RHELError, match="dropout must be in"):
        _model(dropout="0.1")
    with pytest.raises(rhel.RHELError, match="state_size must be a positive integer"):
        make_hssm("linear", d_in=2, d_out=3, task="classification", hidden=4, state_size=np.True_, blocks=1,
                  key=jr.key(0))
    with pytest.raises(rhel.RHELError, match="output_step >= 1, got True"):
        make_hssm("linear", d_in=2, d_out=3, task="regression", hidden=4, state_size=3, blocks=1, key=jr.key(0),
                  output_step=True)
    with pytest.raises(rhel.RHELError, match="output_step=5 is for task='regression'"):
        make_hssm("linear", d_in=2, d_out=3, task="classification", hidden=4, state_size=3, blocks=1,
                  key=jr.key(0), output_step=5)


def test_a_state_of_another_model_and_sequences_shorter_than_output_step_are_refused():
    model, state = _model()
    x, mask = _data()
    y = jnp.array([0, 1, 2])
    other_state = make_hssm("linear", d_in=2, d_out=3, task="classification", hidden=4, state_size=3, blocks=3,
                            key=jr.key(0))[1]
    with pytest.raises(rhel.RHELError, match=r"norm statistics of shapes .* not \(2, 4\)"):
        batch_loss(model, other_state, x, y, mask, key=jr.key(0), gradient=rhel.BPTT())
    model, state = _model("regression")
    with pytest.raises(rhel.RHELError, match="shorter than the model's output_step = 4"):
        batch_loss(model, state, x[:, :3], jnp.zeros((3, 0, 3)), mask[:, :3], key=jr.key(0),
                   gradient=rhel.BPTT())
