"""rhel.model.dense.per_step: the affine map of every step as one product, equal to vmap(eqx.nn.Linear)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

from rhel.model.dense import per_step


@pytest.mark.parametrize("use_bias", [True, False])
def test_equals_the_linear_map_at_every_step(x64, use_bias):
    linear = eqx.nn.Linear(5, 3, use_bias=use_bias, key=jr.key(0), dtype=jnp.float64)
    x = jr.normal(jr.key(1), (7, 5), jnp.float64)
    y = per_step(linear, x)
    assert y.shape == (7, 3) and y.dtype == jnp.float64
    assert jnp.allclose(y, jax.vmap(linear)(x), rtol=1e-13, atol=1e-13)
    # and so are its derivatives, with respect to the input and to the weights
    f = lambda m, x: jnp.sum(jnp.sin(per_step(m, x)))
    g = lambda m, x: jnp.sum(jnp.sin(jax.vmap(m)(x)))
    for a, b in zip(jax.tree.leaves(eqx.filter_grad(f)(linear, x)), jax.tree.leaves(eqx.filter_grad(g)(linear, x))):
        assert jnp.allclose(a, b, rtol=1e-12, atol=1e-12)
    assert jnp.allclose(jax.grad(f, argnums=1)(linear, x), jax.grad(g, argnums=1)(linear, x), rtol=1e-12)


def test_batched_by_vmap_like_the_model():
    linear = eqx.nn.Linear(4, 6, key=jr.key(2))
    x = jr.normal(jr.key(3), (2, 9, 4))
    y = jax.vmap(lambda s: per_step(linear, s))(x)
    assert y.shape == (2, 9, 6)
    assert jnp.allclose(y, jax.vmap(jax.vmap(linear))(x), rtol=1e-5, atol=1e-5)
