"""HSSM plumbing: masks, normalisation semantics, dropout purity, heads, user-defined units, errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

import rhel
from rhel.model import MaskedBatchNorm, batch_loss, batch_predict, make_hssm
from rhel.model.norm import init_stats
from quadratic_unit import quadratic_unit


def small(unit="nonlinear", task="classification", **kw):
    kw.setdefault("output_step", 4 if task == "regression" else None)
    return make_hssm(unit, d_in=2, d_out=3, task=task, hidden=4, state_size=3, blocks=2, key=jr.key(0), **kw)


def _data(B=3, L=16):
    x = jr.normal(jr.key(1), (B, L, 2))
    mask = jnp.arange(L)[None, :] < jnp.array([L, 11, 6])[:B, None]
    return x, mask


@eqx.filter_jit
def _loss_and_grads(model, state, x, y, mask, key, gradient):
    fn = eqx.filter_value_and_grad(batch_loss, has_aux=True)
    (loss, (new_state, aux)), grads = fn(model, state, x, y, mask, key=key, gradient=gradient)
    return loss, new_state, aux, grads


def test_padding_content_never_matters():
    model, state = small(dropout=0.3)  # the model of the next test: one compilation for both
    x, mask = _data()
    y = jnp.array([0, 1, 2])
    garbage = jnp.where(mask[..., None], x, 100.0 * jr.normal(jr.key(5), x.shape))
    a = _loss_and_grads(model, state, x, y, mask, jr.key(2), rhel.RHEL())
    b = _loss_and_grads(model, state, garbage, y, mask, jr.key(2), rhel.RHEL())
    assert jnp.allclose(a[0], b[0], rtol=1e-6)
    for ga, gb in zip(jax.tree.leaves(a[3]), jax.tree.leaves(b[3])):
        assert jnp.allclose(ga, gb, rtol=1e-4, atol=1e-7)
    # inference: a padded sequence predicts what the trimmed sequence predicts
    p_padded = batch_predict(model, state, x[1:2], mask[1:2])
    p_trim = batch_predict(model, state, x[1:2, :11], mask[1:2, :11])
    assert jnp.allclose(p_padded, p_trim, atol=1e-6)


def test_batch_loss_is_pure_and_dropout_is_shared_by_both_methods():
    model, state = small(dropout=0.3)
    x, mask = _data()
    y = jnp.array([0, 1, 2])
    loss_b, _, _, _ = _loss_and_grads(model, state, x, y, mask, jr.key(7), rhel.BPTT())
    loss_r, _, _, _ = _loss_and_grads(model, state, x, y, mask, jr.key(7), rhel.RHEL())
    loss_again = _loss_and_grads(model, state, x, y, mask, jr.key(7), rhel.BPTT())[0]
    loss_other = _loss_and_grads(model, state, x, y, mask, jr.key(8), rhel.BPTT())[0]
    assert loss_b == loss_r == loss_again
    assert loss_other != loss_b
    loss_inf = batch_loss(model, state, x, y, mask, key=None, gradient=rhel.BPTT(), inference=True)[0]
    assert jnp.isfinite(loss_inf)


def test_norm_uses_masked_batch_statistics_in_training_and_running_ones_in_inference():
    norm = MaskedBatchNorm(2, momentum=0.9)
    stats = init_stats(2)
    x = jnp.stack([jnp.arange(8.0).reshape(4, 2), 10 + jnp.arange(8.0).reshape(4, 2)])
    mask = jnp.array([[True] * 4, [True, True, False, False]])

    def apply(xi, mi):
        return norm(xi, mi, stats, inference=False)

    y, (mean, var) = jax.vmap(apply, axis_name="batch", out_axes=(0, None))(x, mask)
    valid = y[mask]
    assert jnp.allclose(valid.mean(0), 0, atol=1e-6) and jnp.allclose(valid.var(0), 1, atol=1e-3)
    data = x[mask]
    assert jnp.allclose(mean, 0.1 * data.mean(0), rtol=1e-6)
    assert jnp.allclose(var, 0.9 + 0.1 * data.var(0), rtol=1e-6)
    y_inf, same = norm(x[0], mask[0], (mean, var), inference=True)
    assert jnp.allclose(y_inf, (x[0] - mean) / jnp.sqrt(var + 1e-5), rtol=1e-5)
    with pytest.raises(rhel.RHELError, match="axis_name"):
        norm(x[0], mask[0], (mean, var), inference=False)


def test_regression_head_outputs_every_output_step_and_masks_the_loss():
    model, state = small(task="regression")
    x, mask = _data(L=16)
    out = batch_predict(model, state, x, mask)
    assert out.shape == (3, 4, 3) and jnp.all(jnp.abs(out) < 1)
    y = jr.uniform(jr.key(3), out.shape, minval=-1, maxval=1)
    loss, _, aux, _ = _loss_and_grads(model, state, x, y, mask, jr.key(0), rhel.BPTT())
    # targets at padded steps (step 11 and beyond for the 2nd sequence) must not count
    y_bad = y.at[1, 3].set(50.0).at[2, 2:].set(-50.0)
    loss_bad = _loss_and_grads(model, state, x, y_bad, mask, jr.key(0), rhel.BPTT())[0]
    assert loss == loss_bad and aux["metric"] == loss


def test_user_defined_unit_in_a_model_rhel_equals_bptt(x64):
    model, state = make_hssm(quadratic_unit, d_in=2, d_out=3, task="classification", hidden=4, state_size=3,
                             blocks=2, key=jr.key(0), dtype=jnp.float64)
    x, mask = _data()
    y = jnp.array([2, 0, 1])
    gb = _loss_and_grads(model, state, x, y, mask, jr.key(4), rhel.BPTT())[3]
    gr = _loss_and_grads(model, state, x, y, mask, jr.key(4), rhel.RHEL(epsilon=1.0))[3]
    for a, b in zip(jax.tree.leaves(gr), jax.tree.leaves(gb)):
        assert jnp.linalg.norm(a - b) <= 1e-9 * jnp.linalg.norm(b)


def test_bad_inputs_raise_rhel_errors():
    with pytest.raises(rhel.RHELError, match="unit="):
        small(unit="quantum")
    with pytest.raises(rhel.RHELError, match="output_step"):
        make_hssm("nonlinear", d_in=2, d_out=1, task="regression", hidden=4, state_size=3, blocks=1,
                  key=jr.key(0))
    model, state = small()
    x, mask = _data()
    with pytest.raises(rhel.RHELError, match=r"x must have shape \(B, L, 2\)"):
        batch_loss(model, state, x[0], jnp.array([0]), mask, key=jr.key(0), gradient=rhel.BPTT())
    with pytest.raises(rhel.RHELError, match="mask must be a boolean"):
        batch_loss(model, state, x, jnp.array([0, 1, 2]), mask.astype(int), key=jr.key(0),
                   gradient=rhel.BPTT())
    with pytest.raises(rhel.RHELError, match="integer labels"):
        batch_loss(model, state, x, jnp.zeros(3), mask, key=jr.key(0), gradient=rhel.BPTT())
    with pytest.raises(rhel.RHELError, match="gradient method"):
        batch_loss(model, state, x, jnp.array([0, 1, 2]), mask, key=jr.key(0), gradient="rhel")
