"""Hamiltonian Echo Backpropagation (static input in Φ(0), loss at the final time only) through the
engine's echo: its gradient equals autodiff's, w.r.t. the parameters, the input and a constant field."""

import jax
import jax.numpy as jnp
import pytest

import rhel
from rhel.physics.heb import final_time_loss

P = 4


def potential(phi, u, p):
    quad = 0.5 * jnp.sum(p["k"] * phi**2)
    return quad + jnp.sum(p["a"] * jnp.log(jnp.cosh(p["W"] @ phi + p["b"] + u)))


def linear_potential(phi, u, p):
    """Quadratic: the echo is affine in ε, so HEB is exact at any ε."""
    coupling = 0.1 * (p["W"] + p["W"].T)
    return 0.5 * jnp.sum(p["k"] * phi**2) + 0.5 * phi @ coupling @ phi - (p["b"] + u) @ phi


def make(nonlinear: bool = True):
    keys = jax.random.split(jax.random.key(3), 4)
    params = dict(
        k=1.0 + 0.5 * jax.random.uniform(keys[0], (P,)),
        W=0.5 * jax.random.normal(keys[1], (P, P)),
        b=0.3 * jax.random.normal(keys[2], (P,)),
    )
    if nonlinear:
        params["a"] = jnp.full(P, 0.8)
    x = jax.random.normal(keys[3], (P,))
    return params, x


def loss(phi_T):
    return 0.5 * jnp.sum((phi_T[:2] - jnp.array([0.5, -0.2])) ** 2)


def grads(params, x, u, gradient):
    V = potential if "a" in params else linear_potential

    def total(params, x, u):
        state0 = (x, jnp.zeros_like(x))
        return final_time_loss(V, params, state0, loss, steps=200, dt=0.05, u=u, gradient=gradient)

    return jax.jit(jax.grad(total, argnums=(0, 1, 2)))(params, x, u)


@pytest.mark.parametrize("nonlinear, epsilon, rtol", [(True, 1e-3, 1e-6), (False, 0.5, 1e-10)])
def test_heb_gradient_equals_autodiff(x64, nonlinear, epsilon, rtol):
    params, x = make(nonlinear)
    u = jnp.full(P, 0.1)
    heb = grads(params, x, u, rhel.RHEL(epsilon=epsilon))
    autodiff = grads(params, x, u, rhel.BPTT())
    for a, b in zip(jax.tree.leaves(heb), jax.tree.leaves(autodiff)):
        assert jnp.all(jnp.isfinite(a))
        assert jnp.max(jnp.abs(b)) > 1e-4  # the comparison is not between zeros
        assert jnp.allclose(a, b, rtol=rtol, atol=rtol * jnp.max(jnp.abs(b)))


def test_heb_rejects_bad_arguments():
    params, x = make()
    with pytest.raises(rhel.RHELError, match="steps"):
        final_time_loss(potential, params, (x, x), loss, steps=0, dt=0.1)
    with pytest.raises(rhel.RHELError, match="u must be a vector"):
        final_time_loss(potential, params, (x, x), loss, steps=3, dt=0.1, u=jnp.zeros((2, 2)))
    with pytest.raises(rhel.RHELError, match=r"loss must map the final positions φ_T, shape \(4,\), to a "
                       r"floating-point scalar; it returned \(4,\)"):
        final_time_loss(potential, params, (x, x), lambda p: p**2, steps=3, dt=0.1, u=jnp.zeros(P))


def test_heb_without_a_field_is_autonomous(x64):
    """No input at all (inputs of shape (L, 0)): the gradient w.r.t. θ and the initial state x."""
    params, x = make()

    def autonomous(phi, u, p):  # u has shape (0,)
        return potential(phi, jnp.zeros(P), p)

    def total(params, x, gradient):
        state0 = (x, jnp.zeros_like(x))
        return final_time_loss(autonomous, params, state0, loss, steps=150, dt=0.05, gradient=gradient)

    grad = jax.jit(jax.grad(total, argnums=(0, 1)), static_argnums=2)
    heb, autodiff = grad(params, x, rhel.RHEL(epsilon=1e-3)), grad(params, x, rhel.BPTT())
    for a, b in zip(jax.tree.leaves(heb), jax.tree.leaves(autodiff)):
        assert jnp.max(jnp.abs(b)) > 1e-4
        assert jnp.allclose(a, b, rtol=1e-6, atol=1e-6 * jnp.max(jnp.abs(b)))
