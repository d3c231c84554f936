"""Whole 3-block HSSMs in float64: RHEL against BPTT on every parameter leaf."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr

from rhel.model import compare_gradients, make_hssm


def _setup(unit, **kw):
    model, state = make_hssm(unit, d_in=3, d_out=3, task="classification", hidden=6, state_size=5, blocks=3,
                             key=jr.key(0), dtype=jnp.float64, **kw)
    x = jr.normal(jr.key(1), (2, 24, 3))
    mask = jnp.arange(24)[None, :] < jnp.array([[24], [17]])
    y = jnp.array([0, 2])
    return model, state, x, y, mask


def _check_complete(model, records):
    n_leaves = len(jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    assert len(records) == n_leaves
    assert {r["block"] for r in records} == {-1, 0, 1, 2, 3}
    assert all(r["rel_error"] >= 0 and abs(r["norm_ratio"] - 1) <= 1 for r in records)


def test_linear_hssm_rhel_equals_bptt_at_any_epsilon(x64):
    model, state, x, y, mask = _setup("linear")
    for eps in (0.01, 1.0):  # two decades apart (each ε is a compilation: RHEL's ε is static)
        records = compare_gradients(model, state, x, y, mask, key=jr.key(2), epsilon=eps)
        _check_complete(model, records)
        worst = max(records, key=lambda r: r["rel_error"])
        assert worst["rel_error"] <= 1e-11, worst


def test_nonlinear_hssm_rhel_matches_bptt_with_eps_squared_bias(x64):
    model, state, x, y, mask = _setup("nonlinear")
    errors = {}
    for eps in (0.001, 0.1):
        records = compare_gradients(model, state, x, y, mask, key=jr.key(2), epsilon=eps)
        _check_complete(model, records)
        hru_records = [r for r in records if any(k in r["param"] for k in (".params.", ".drive.", "dt_raw"))]
        assert len(hru_records) == 3 * 6  # w, c, alpha, dt and the drive's B, b in each block
        errors[eps] = max(r["rel_error"] for r in records)
    assert errors[0.001] <= 1e-5
    assert 3e3 < errors[0.1] / errors[0.001] < 3e4  # the O(ε²) bias of a nonlinear echo
