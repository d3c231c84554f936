"""The assumption checks: reversibility error and energy drift (float64)."""

import jax.numpy as jnp
import numpy as np
import pytest
from engine_systems import make_problem, nonlinear_potential

import rhel


def inverted_oscillator(phi, u, p):
    """V = −½ a‖φ‖²: every trajectory grows as e^t, so rounding is amplified exponentially."""
    return -0.5 * p * jnp.sum(phi**2) + jnp.sum(phi) * u[0]


def harmonic(phi, u, p):
    return 0.5 * p * jnp.sum(phi**2)


def test_stable_system_replays_to_machine_precision(x64):
    params, inputs, phi0, pi0, dt, _ = make_problem(0, "nonlinear", 3, 2, 500, True)
    rev = rhel.reversibility_error(nonlinear_potential, params, inputs, (phi0, pi0), dt=dt)
    assert float(rev.rel_error) <= 1e-12


def test_unstable_system_loses_reversibility_exponentially(x64):
    state0 = (jnp.full(2, 0.1), jnp.array([0.3, -0.2]))
    errors = [
        float(rhel.reversibility_error(inverted_oscillator, 1.0, jnp.zeros((L, 1)), state0, dt=0.1).abs_error)
        for L in (50, 150, 250)
    ]
    assert errors[0] <= 1e-10
    assert errors[2] >= 1e3
    # exponential: the log-error rises linearly with the length, by many decades per 100 steps
    assert np.log10(errors[2]) - np.log10(errors[1]) >= 5


def test_energy_drift_is_second_order_in_dt(x64):
    drifts = [
        float(rhel.energy_drift(harmonic, 1.0, (jnp.ones(2), jnp.zeros(2)), dt=dt, steps=int(20 / dt)).rel_drift)
        for dt in (0.1, 0.05)
    ]
    assert 3.5 <= drifts[0] / drifts[1] <= 4.5, drifts
    assert drifts[0] <= 1e-2


def test_energy_drift_flags_an_unstable_step(x64):
    """Leapfrog is stable only while dt² a < 4; beyond, the energy explodes."""
    drift = rhel.energy_drift(harmonic, 1.0, (jnp.ones(2), jnp.zeros(2)), dt=2.5, steps=20)
    assert drift.energies.shape == (21,)
    assert float(drift.rel_drift) >= 1e3


def test_energy_drift_of_a_driven_nonlinear_system(x64):
    params, _, phi0, pi0, _, _ = make_problem(0, "nonlinear", 3, 2, 1, False)
    u = jnp.ones(2)
    coarse = rhel.energy_drift(nonlinear_potential, params, (phi0, pi0), dt=0.1, steps=200, u=u)
    fine = rhel.energy_drift(nonlinear_potential, params, (phi0, pi0), dt=0.05, steps=400, u=u)
    assert float(fine.rel_drift) < float(coarse.rel_drift) <= 1e-2


@pytest.mark.parametrize("steps", [0, -3, 2.5, True, np.bool_(True), "10"])
def test_energy_drift_needs_a_positive_step_count(steps):
    with pytest.raises(rhel.RHELError, match="steps must be a positive integer"):
        rhel.energy_drift(harmonic, 1.0, (jnp.ones(2), jnp.zeros(2)), dt=0.1, steps=steps)


def test_energy_drift_takes_numpy_step_counts():
    state = (jnp.ones(2), jnp.zeros(2))
    numpy_count = rhel.energy_drift(harmonic, 1.0, state, dt=0.1, steps=np.int32(20))
    python_count = rhel.energy_drift(harmonic, 1.0, state, dt=0.1, steps=20)
    assert float(numpy_count.rel_drift) == float(python_count.rel_drift) > 0


def test_checks_validate_their_inputs():
    with pytest.raises(rhel.RHELError, match="dt must be finite and > 0"):
        rhel.reversibility_error(harmonic, 1.0, jnp.zeros((5, 1)), (jnp.ones(2), jnp.zeros(2)), dt=-1.0)
