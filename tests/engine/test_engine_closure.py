"""A potential that closes over differentiated values (weights captured instead of passed in params)."""

import jax
import jax.numpy as jnp
from engine_systems import make_problem, max_relative_error, quadratic_potential

import rhel


def closure_gradients(method, per_example=False):
    params, inputs, phi0, pi0, dt, target = make_problem(4, "quadratic", 3, 2, 20, True)
    scale = jnp.asarray([0.5, 1.0, 2.0]) if per_example else jnp.asarray(1.5)

    def loss(params, scale, phi0):
        # only the stiffness ``k`` is passed explicitly; everything else is captured
        def potential(phi, u, k):
            return scale * quadratic_potential(phi, u, dict(params, k=k))

        phis = rhel.simulate(potential, params["k"], inputs, (phi0, pi0), dt=dt, gradient=method)
        return jnp.sum((phis - target) ** 2)

    grad = jax.grad(loss, argnums=(0, 1, 2))
    if per_example:
        grad = jax.vmap(grad, in_axes=(None, 0, None))
    return jax.jit(grad)(params, scale, phi0)


def test_rhel_differentiates_closed_over_values(x64):
    got = closure_gradients(rhel.RHEL(0.5))
    want = closure_gradients(rhel.BPTT())
    assert max_relative_error(got, want) <= 1e-9  # quadratic: exact at any epsilon
    assert float(jnp.linalg.norm(got[0]["A"])) > 0  # a captured weight really gets a gradient


def test_closed_over_values_under_vmap(x64):
    got = closure_gradients(rhel.RHEL(0.5), per_example=True)
    want = closure_gradients(rhel.BPTT(), per_example=True)
    assert got[1].shape == (3,)
    assert max_relative_error(got, want) <= 1e-9
