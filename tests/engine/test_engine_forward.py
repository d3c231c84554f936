"""The forward pass: simulate equals a leapfrog written here independently, under jit and vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from engine_systems import make_problem, nonlinear_potential

import rhel


def reference_leapfrog(potential, params, inputs, phi0, pi0, dt):
    """Drift–kick–drift in plain NumPy loops, with the force from jax.grad of V at the half step."""
    force = jax.jit(jax.grad(potential))
    phi, pi = np.asarray(phi0), np.asarray(pi0)
    dt = np.asarray(dt)
    out = []
    for u in np.asarray(inputs):
        half = phi + 0.5 * dt * pi
        pi = pi - dt * np.asarray(force(jnp.asarray(half), jnp.asarray(u), params))
        phi = half + 0.5 * dt * pi
        out.append(phi)
    return np.stack(out)


@pytest.mark.parametrize(
    ("per_dim_dt", "method"),
    [(False, rhel.BPTT()), (True, rhel.BPTT()), (True, rhel.BPTT(checkpoint=True)), (True, rhel.RHEL())],
)
def test_forward_matches_independent_leapfrog(x64, per_dim_dt, method):
    params, inputs, phi0, pi0, dt, _ = make_problem(0, "nonlinear", 3, 2, 40, per_dim_dt)
    want = reference_leapfrog(nonlinear_potential, params, inputs, phi0, pi0, dt)
    got = rhel.simulate(nonlinear_potential, params, inputs, (phi0, pi0), dt=dt, gradient=method)
    assert got.shape == (40, 3)
    np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=1e-12)


def test_forward_under_jit_and_vmap(x64):
    params, _, phi0, pi0, dt, _ = make_problem(1, "nonlinear", 3, 2, 25, True)
    batch = jnp.asarray(np.random.default_rng(1).standard_normal((4, 25, 2)))

    def run(inputs, phi0):
        return rhel.simulate(nonlinear_potential, params, inputs, (phi0, pi0), dt=dt)

    phi0s = jnp.stack([phi0 * s for s in (0.5, 1.0, 1.5, 2.0)])
    batched = jax.jit(jax.vmap(run))(batch, phi0s)
    assert batched.shape == (4, 25, 3)
    for i in range(4):
        want = reference_leapfrog(nonlinear_potential, params, batch[i], phi0s[i], pi0, dt)
        np.testing.assert_allclose(np.asarray(batched[i]), want, rtol=0, atol=1e-12)


def test_float32_stays_float32():
    params, inputs, phi0, pi0, dt, _ = make_problem(2, "nonlinear", 3, 2, 10, False, jnp.float32)
    out = rhel.simulate(nonlinear_potential, params, inputs, (phi0, pi0), dt=float(dt))
    grads = jax.jit(
        jax.grad(
            lambda p: jnp.sum(
                rhel.simulate(nonlinear_potential, p, inputs, (phi0, pi0), dt=0.1, gradient=rhel.RHEL())
            )
        )
    )(params)
    assert out.dtype == jnp.float32
    assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(grads))


@pytest.mark.parametrize("method", [rhel.BPTT(), rhel.RHEL()])
def test_float64_dt_with_a_float32_state(x64, method):
    """dt takes the state's dtype (no carry-type error); its gradient comes back in dt's dtype."""
    params, inputs, phi0, pi0, _, _ = make_problem(2, "nonlinear", 3, 2, 10, False, jnp.float32)

    def loss(dt):
        phis = rhel.simulate(nonlinear_potential, params, inputs, (phi0, pi0), dt=dt, gradient=method)
        return jnp.sum(phis**2)

    dt = jnp.asarray(0.1, jnp.float64)
    assert rhel.simulate(nonlinear_potential, params, inputs, (phi0, pi0), dt=dt).dtype == jnp.float32
    g = jax.jit(jax.grad(loss))(dt)
    assert g.dtype == jnp.float64 and jnp.isfinite(g)
