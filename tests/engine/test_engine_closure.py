"""A potential that closes over differentiated values (weights captured instead of passed in params)."""

import equinox as eqx
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


class ModulePotential(eqx.Module):
    """A potential that is an Equinox module holding its own (unhashable) weights."""

    A: jax.Array
    B: jax.Array

    def __call__(self, phi, u, k):
        return quadratic_potential(phi, u, dict(A=self.A, B=self.B, k=k, c=0.3))


def test_equinox_module_as_potential(x64):
    params, inputs, phi0, pi0, dt, target = make_problem(5, "quadratic", 3, 2, 20, False)
    module = ModulePotential(params["A"], params["B"])

    def loss(module, k, method):
        phis = rhel.simulate(module, k, inputs, (phi0, pi0), dt=dt, gradient=method)
        return jnp.sum((phis - target) ** 2)

    grad = eqx.filter_jit(eqx.filter_grad(loss))
    got, want = grad(module, params["k"], rhel.RHEL(0.5)), grad(module, params["k"], rhel.BPTT())
    assert max_relative_error((got.A, got.B), (want.A, want.B)) <= 1e-9
