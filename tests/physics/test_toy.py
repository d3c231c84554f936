"""The physical toy: six coupled oscillators with masses, trained by RHEL so oscillator 4 tracks a target."""

import diffrax
import jax
import jax.numpy as jnp
import pytest

import rhel
from rhel.physics.oscillators import CoupledOscillators, random_params
from rhel.physics.toy import MASSES, driving_force, make_task, train


def test_rhel_gradient_equals_bptt_on_the_toy(x64):
    task = make_task(jax.random.key(0), steps=300)
    params = random_params(jax.random.key(1), 6)
    grad = jax.jit(jax.grad(task.loss), static_argnums=1)
    g_rhel = grad(params, rhel.RHEL(epsilon=0.1))
    g_bptt = grad(params, rhel.BPTT())
    for a, b in zip(jax.tree.leaves(g_rhel), jax.tree.leaves(g_bptt)):
        assert jnp.max(jnp.abs(b)) > 1e-3
        assert jnp.allclose(a, b, rtol=1e-9, atol=1e-12 * jnp.max(jnp.abs(b)))


@pytest.mark.parametrize("epsilon", [0.1, 1e-5])
def test_rhel_gradient_equals_bptt_in_float32_at_any_epsilon(epsilon):
    """The closed-form echo derivatives (autodiff's cancel in float32: 1.6e-2 at ε = 1e-5)."""
    key_task, key_init = jax.random.split(jax.random.key(0))
    task = make_task(key_task, horizon=30.0, steps=300)
    params = random_params(key_init, 6)
    grad = jax.jit(jax.grad(task.loss), static_argnums=1)
    g_rhel, g_bptt = grad(params, rhel.RHEL(epsilon=epsilon)), grad(params, rhel.BPTT())
    scale = max(jnp.max(jnp.abs(b)) for b in jax.tree.leaves(g_bptt))
    diff = max(jnp.max(jnp.abs(a - b)) for a, b in zip(jax.tree.leaves(g_rhel), jax.tree.leaves(g_bptt)))
    assert diff / scale < 5e-6


def test_echo_derivatives_are_autodiffs(x64):
    """CoupledOscillators.echo_derivatives against autodiff, at a small and a large gap between the lanes."""
    from rhel.engine.pair import pair

    system = CoupledOscillators(MASSES, drive=2)
    params = random_params(jax.random.key(3), 6)
    k1, k2 = jax.random.split(jax.random.key(4))
    phi = jax.random.normal(k1, (6,))
    for gap in (1e-2, 1.0):
        err = rhel.echo_derivatives_error(system, params, pair(phi, phi + gap * jax.random.normal(k2, (6,))),
                                          jnp.array([0.7]))
        assert max(err.forces, err.inputs, err.params) < 1e-12, (gap, err)


def test_rhel_training_reduces_the_loss_tenfold():
    task = make_task(jax.random.key(0))
    result = train(task, random_params(jax.random.key(1), 6), steps=120, learning_rate=0.05)
    print(f"toy loss {float(result.losses[0]):.4g} -> {float(result.losses[-1]):.4g}")
    assert jnp.all(jnp.isfinite(result.losses))
    assert result.losses[-1] < result.losses[0] / 10


def test_mass_scaled_coordinates_give_the_physical_motion(x64):
    """The engine's unit-mass form (φ = √m x) reproduces M ẍ = −K x + F(t) e_1, solved by Diffrax."""
    system = CoupledOscillators(jnp.asarray(MASSES))
    params = random_params(jax.random.key(2), 6)
    horizon, steps = 8.0, 1600
    task = make_task(jax.random.key(2), horizon=horizon, steps=steps)
    x = system.run(params, task.force, dt=horizon / steps)
    K, m = system.stiffness(params), jnp.asarray(MASSES)

    def field(t, y, _):
        pos, vel = y
        return vel, (-K @ pos + driving_force(t)[0] * jnp.eye(6)[0]) / m

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(field), diffrax.Tsit5(), 0.0, horizon, 1e-2, (jnp.zeros(6), jnp.zeros(6)),
        saveat=diffrax.SaveAt(ts=task.times[1:]),
        stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-10),
    )
    assert jnp.max(jnp.abs(sol.ys[0])) > 0.1
    assert jnp.allclose(x, sol.ys[0], atol=1e-4)


def test_bad_systems_raise_clear_errors():
    with pytest.raises(rhel.RHELError, match="masses"):
        CoupledOscillators(jnp.array([1.0, -1.0, 1.0]))
    for bad in (jnp.inf, jnp.nan):
        with pytest.raises(rhel.RHELError, match="masses must all be finite and > 0"):
            CoupledOscillators([1.0, bad], readout=1)
    with pytest.raises(rhel.RHELError, match="masses must be a vector of numbers"):
        CoupledOscillators(["heavy", 1.0], readout=1)
    with pytest.raises(rhel.RHELError, match="readout"):
        CoupledOscillators(jnp.ones(3), readout=3)
    with pytest.raises(rhel.RHELError, match=r"too large.*use at least \d+ leapfrog steps .*rhel physics --grid"):
        make_task(jax.random.key(0), horizon=30.0, steps=10)
    key_task, key_init = jax.random.split(jax.random.key(0))
    initial = random_params(key_init, 6)
    make_task(key_task, horizon=30.0, steps=32)  # the teacher's ω = 2.10 alone needs 32 steps
    with pytest.raises(rhel.RHELError, match=r"ω = 2.26, the initial θ: .*use at least 34 leapfrog steps"):
        make_task(key_task, horizon=30.0, steps=32, initial=initial)
    from rhel.physics.demo import convergence_table

    with pytest.raises(rhel.RHELError, match=r"the initial θ: .*use at least 34 leapfrog steps"):
        convergence_table(horizon=30.0, grids=(32, 64), seed=0)


def test_toy_gradient_converges_at_second_order_as_the_step_halves():
    from rhel.physics.demo import convergence_table

    rows = convergence_table(horizon=10.0, grids=(100, 200, 400))
    (_, first, _), (_, second, order) = rows
    assert second < first
    assert 1.7 < order < 2.3
