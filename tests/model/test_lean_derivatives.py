"""GELU, the GLU gate and the batch norm's normalisation: written-out derivatives that equal autodiff's
and keep fewer arrays for the backward pass."""

import jax
import jax.numpy as jnp
import jax.random as jr
import pytest
from jax.test_util import check_grads

from rhel.model.activations import gate, gelu, gelu_derivative
from rhel.model.norm import BATCH_AXIS, normalize


def _plain_gate(a, g):
    return a * jax.nn.sigmoid(g)


def _kept(fn, *args):
    """The arrays of the inputs' full shape that reverse mode keeps for ``fn``'s backward pass."""
    _, vjp = jax.vjp(fn, *args)
    return [leaf for leaf in jax.tree.leaves(vjp) if leaf.shape == args[0].shape]


def _batched_normalize(normalise, mask, eps=1e-5):
    return jax.vmap(lambda x: normalise(x, mask, eps), axis_name=BATCH_AXIS)


@pytest.fixture
def points(x64):
    # the tails (|x| up to 30, where tanh saturates) and a dense grid through the curved part; in the
    # left tail both derivatives lose digits to 1 + tanh(s) → 0 alike, hence the absolute tolerance
    return jnp.concatenate([jnp.linspace(-30.0, 30.0, 61), jnp.linspace(-4.0, 4.0, 801), jnp.zeros(1)])


def test_gelu_values_and_derivative_equal_the_plain_function(points):
    assert jnp.array_equal(gelu(points), jax.nn.gelu(points, approximate=True))
    plain = jax.vmap(jax.grad(lambda x: jax.nn.gelu(x, approximate=True)))(points)
    assert jnp.allclose(jax.vmap(jax.grad(gelu))(points), plain, rtol=1e-13, atol=1e-14)
    assert jnp.allclose(gelu_derivative(points), plain, rtol=1e-13, atol=1e-14)
    check_grads(gelu, (points[::7],), order=2, modes=["fwd", "rev"])


def test_gate_values_and_derivatives_equal_the_plain_function(points):
    a, g = points, jnp.roll(points, 5) * 0.7
    assert jnp.array_equal(gate(a, g), _plain_gate(a, g))
    ours = jax.vmap(jax.grad(gate, argnums=(0, 1)))(a, g)
    plain = jax.vmap(jax.grad(_plain_gate, argnums=(0, 1)))(a, g)
    for o, p in zip(ours, plain):
        assert jnp.allclose(o, p, rtol=1e-13, atol=1e-14)
    check_grads(gate, (a[::7], g[::7]), order=2, modes=["fwd", "rev"])


def test_normalize_jacobian_equals_autodiff_of_the_statistics_with_padding(x64):
    x = 3.0 + 2.0 * jr.normal(jr.key(0), (3, 9, 4))
    mask = jnp.arange(9) < 6  # three padded steps: outside the statistics, still normalised
    ours = _batched_normalize(normalize, mask)
    plain = _batched_normalize(normalize.fun, mask)
    for o, p in zip(ours(x), plain(x)):
        assert jnp.allclose(o, p, rtol=1e-14, atol=1e-14)
    # all three outputs (x̂, μ, σ²), forward and reverse mode
    for jac in (jax.jacfwd, jax.jacrev):
        for o, p in zip(jac(ours)(x), jac(plain)(x)):
            assert jnp.allclose(o, p, rtol=1e-10, atol=1e-12)
    check_grads(lambda x: ours(x)[0], (x,), order=2, modes=["fwd", "rev"])
    # the padded steps' content does not reach the statistics
    garbage = x.at[:, 6:].set(1e3)
    assert jnp.allclose(ours(garbage)[1], ours(x)[1]) and jnp.allclose(ours(garbage)[2], ours(x)[2])


def test_backward_passes_keep_one_array_per_output_not_three_to_five():
    x = jr.normal(jr.key(1), (3, 20, 5))
    mask = jnp.arange(20) < 15
    assert len(_kept(gelu, x)) == 1  # gelu'(x)
    assert len(_kept(jax.nn.gelu, x)) >= 4
    assert len(_kept(gate, x, 2 * x)) == 2  # σ(g), a σ(g)(1 − σ(g))
    assert len(_kept(_plain_gate, x, 2 * x)) == 3
    assert len(_kept(lambda x: _batched_normalize(normalize, mask)(x)[0], x)) == 1  # x̂
    assert len(_kept(lambda x: _batched_normalize(normalize.fun, mask)(x)[0], x)) == 2


def test_block_keeps_the_hru_output_not_the_gelu_derivative_and_the_glu_input():
    """Between the HRU and the GLU's gate a block keeps z (and the dropout mask) for its backward pass:
    the checkpoint recomputes gelu(z), gelu'(z) and the linear map's input from them."""
    import equinox as eqx

    from rhel.model.block import _activate_and_mix, apply_dropout
    from rhel.model.dense import per_step

    z = jr.normal(jr.key(2), (20, 5))
    keep = jr.bernoulli(jr.key(3), 0.9, z.shape)
    linear = eqx.nn.Linear(5, 10, key=jr.key(4))

    def plain(z):
        return per_step(linear, apply_dropout(gelu(z), keep, 0.1))

    def checkpointed(z):
        return _activate_and_mix(linear, z, keep, 0.1)

    def kept_floats(fn):
        return [x for x in _kept(fn, z) if x.dtype != jnp.bool_]  # the dropout mask is kept by both

    assert jnp.array_equal(plain(z), checkpointed(z))
    kept = kept_floats(checkpointed)
    assert len(kept) == 1 and jnp.array_equal(kept[0], z)
    assert len(kept_floats(plain)) == 2  # gelu'(z) and the linear map's input
    check_grads(checkpointed, (z,), order=1, modes=["rev"], atol=1e-2, rtol=1e-2)
