"""Continuous-time RHEL is the continuous adjoint method: as δ → 0 the RHEL gradient and the echo's
adjoint λ(t) converge to those of the adjoint ODE (solved by Diffrax), at second order."""

import jax.numpy as jnp
import numpy as np
import pytest

import rhel
from rhel.physics import echo_trace, integral_loss, midpoint_inputs

from continuous_system import HORIZON, inputs_at, make_params, make_state0, potential
from continuous_system import running_loss

STEPS = (40, 80, 160)


def rel_error(a, b):
    return float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))


def fitted_order(errs):
    return float(np.polyfit(np.log([1 / s for s in STEPS]), np.log(errs), 1)[0])


@pytest.fixture(scope="module")
def table(reference):
    """Relative errors against the continuous adjoint; rows: δ = T/L; columns: dL/dθ, the midpoint
    λ^φ(t), λ^π(t) at the sampled times, and the one-sided λ^φ(t)."""
    import jax

    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    rows = []
    for steps in STEPS:
        inputs, dt = midpoint_inputs(inputs_at, HORIZON, steps)
        loss = integral_loss(running_loss, HORIZON, steps)
        trace = echo_trace(potential, make_params(), inputs, make_state0(), loss, dt=dt,
                           gradient=rhel.RHEL(epsilon=1e-3))
        idx = jnp.array([round(t / dt) for t in reference["times"]])
        lam_phi, lam_pi = trace.adjoint_midpoint
        grads = reference["grads"]
        rows.append([
            max(rel_error(trace.grad_params[n], grads[n]) for n in grads),
            rel_error(lam_phi[idx], reference["lam_phi"]),
            rel_error(lam_pi[idx], reference["lam_pi"]),
            rel_error(trace.adjoint_phi[idx], reference["lam_phi"]),
        ])
    jax.config.update("jax_enable_x64", previous)
    table = np.array(rows)
    print("\nrelative errors (dL/dθ, λ^φ mid, λ^π, λ^φ one-sided) per L:", dict(zip(STEPS, table.tolist())))
    return table


@pytest.mark.parametrize("column, name", [(0, "dL/dθ"), (1, "λ^φ(t)"), (2, "λ^π(t)")])
def test_rhel_converges_to_the_continuous_adjoint_at_second_order(table, column, name):
    errs = table[:, column]
    assert 1.8 < fitted_order(errs) < 2.3, f"{name}: order {fitted_order(errs):.2f}, expected 2"
    assert np.all(np.diff(errs) < 0)
    assert errs[-1] < 5e-4


def test_one_sided_adjoint_is_only_first_order(table):
    """The midpoint of the echo's jump is what makes λ^φ second order (EchoTrace.adjoint_midpoint)."""
    assert 0.8 < fitted_order(table[:, 3]) < 1.2


def test_integral_loss_names_a_mismatched_number_of_steps():
    loss = integral_loss(running_loss, HORIZON, 40)
    for phis in (jnp.zeros((50, 3)), jnp.zeros(40)):
        with pytest.raises(rhel.RHELError, match=r"steps=40\) takes the 40 outputs .* got shape \("):
            loss(phis)
    assert jnp.isfinite(loss(jnp.zeros((40, 3))))
