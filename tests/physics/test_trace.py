"""echo_trace records the engine's echo: its totals are rhel.simulate's RHEL gradients, and its adjoint
at every step is the discrete adjoint ∂L/∂Φ_k of BPTT (RHEL's Theorem 3.1: agreement at every time)."""

import jax
import jax.numpy as jnp
import pytest

import rhel
from rhel.physics import echo_trace, integral_loss, midpoint_inputs

from continuous_system import HORIZON, inputs_at, make_params, make_state0, potential, running_loss

STEPS = 60


def problem():
    inputs, dt = midpoint_inputs(inputs_at, HORIZON, STEPS)
    return make_params(), inputs, make_state0(), dt, integral_loss(running_loss, HORIZON, STEPS)


@pytest.mark.parametrize("per_dimension", [False, True])
def test_trace_totals_equal_the_engine_gradients(x64, per_dimension):
    params, inputs, state0, dt, loss = problem()
    if per_dimension:  # one step per dimension: the engine's rescaled coordinates q = φ/δ
        dt = dt * jnp.array([1.0, 0.7, 1.2])
    method = rhel.RHEL(epsilon=0.05)
    trace = echo_trace(potential, params, inputs, state0, loss, dt=dt, gradient=method)

    def total(params, inputs, phi0, pi0):
        return loss(rhel.simulate(potential, params, inputs, (phi0, pi0), dt=dt, gradient=method))

    grad = jax.jit(jax.grad(total, argnums=(0, 1, 2, 3)))
    g_params, g_inputs, g_phi0, g_pi0 = grad(params, inputs, *state0)
    for name in params:
        assert jnp.allclose(trace.grad_params[name], g_params[name], rtol=1e-12, atol=1e-14), name
    assert jnp.allclose(trace.grad_inputs, g_inputs, rtol=1e-12, atol=1e-14)
    assert jnp.allclose(trace.adjoint_phi[0], g_phi0, rtol=1e-12, atol=1e-14)
    assert jnp.allclose(trace.adjoint_pi[0], g_pi0, rtol=1e-12, atol=1e-14)
    assert jnp.allclose(trace.loss, total(params, inputs, *state0))
    # the echoes retrace the forward pass with flipped momenta (up to O(ε²) for this nonlinear V), and
    # nothing is accumulated yet at t_L, where they start
    assert jnp.allclose(trace.echo_phi.mean(0), trace.phi, atol=2e-4)
    assert jnp.allclose(trace.echo_pi.mean(0), -trace.pi, atol=2e-4)
    assert all(jnp.all(g[-1] == 0) for g in jax.tree.leaves(trace.partial_grad))


def test_a_zero_loss_gradient_gives_exactly_zero_gradients():
    """As the engine does: without a nudge the echoes do not separate, and autodiff's round-off at the two
    lanes is not amplified by c/ε into a gradient (float32, where that round-off is visible)."""
    params, inputs, state0, dt, _ = problem()
    trace = echo_trace(potential, params, inputs, state0, lambda phis: 0.0 * jnp.sum(phis**2), dt=dt)
    for g in (*jax.tree.leaves(trace.partial_grad), trace.grad_inputs, trace.adjoint_phi, trace.adjoint_pi):
        assert jnp.all(g == 0)


def test_adjoint_at_every_step_is_the_bptt_adjoint(x64):
    params, inputs, state0, dt, loss = problem()
    trace = echo_trace(potential, params, inputs, state0, loss, dt=dt, gradient=rhel.RHEL(epsilon=1e-4))

    for k in (7, 41):

        def loss_from(params, phi_k, pi_k):  # the loss as a function of the state at t_k, past fixed
            late = rhel.simulate(potential, params, inputs[k:], (phi_k, pi_k), dt=dt)
            return loss(jnp.concatenate([trace.phi[1 : k + 1], late]))

        g_theta, g_phi, g_pi = jax.grad(loss_from, argnums=(0, 1, 2))(params, trace.phi[k], trace.pi[k])
        assert jnp.allclose(trace.adjoint_phi[k], g_phi, rtol=1e-6, atol=1e-9)
        assert jnp.allclose(trace.adjoint_pi[k], g_pi, rtol=1e-6, atol=1e-9)
        # what the echo has accumulated on reaching t_k is the parameter gradient of that sub-problem
        for name in params:
            assert jnp.allclose(trace.partial_grad[name][k], g_theta[name], rtol=1e-6, atol=1e-9)


def test_trace_rejects_bad_arguments():
    params, inputs, state0, dt, loss = problem()
    with pytest.raises(rhel.RHELError, match="RHEL"):
        echo_trace(potential, params, inputs, state0, loss, dt=dt, gradient=rhel.BPTT())
    with pytest.raises(rhel.RHELError, match="scalar"):
        echo_trace(potential, params, inputs, state0, lambda phis: phis[-1], dt=dt)
    with pytest.raises(rhel.RHELError, match=r"loss failed on the positions .* shape \(60, 3\): TypeError"):
        echo_trace(potential, params, inputs, state0, lambda phis: phis + "x", dt=dt)


@pytest.mark.parametrize("dt", [-0.2, 0.0, float("nan")])
def test_trace_rejects_a_bad_step_at_once(dt):
    """A bad step is named with its value before anything is compiled (not a run-time error of the jit)."""
    params, inputs, state0, _, loss = problem()
    with pytest.raises(rhel.RHELError, match=rf"dt must be finite and > 0 .*; got {dt}"):
        echo_trace(potential, params, inputs, state0, loss, dt=dt)
