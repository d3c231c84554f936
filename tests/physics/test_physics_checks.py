"""Counts and spans of the physics layer: NumPy numbers are numbers, a bool is not, and a bad value is named."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rhel
from rhel.physics import CoupledOscillators, final_time_loss, random_params, time_grid
from rhel.physics.toy import make_task, train


def test_numpy_numbers_are_accepted():
    ts, dt = time_grid(np.float32(3.0), np.int64(10))
    assert ts.shape == (11,) and dt == pytest.approx(0.3)
    system = CoupledOscillators([1.0, 2.0, 1.5], drive=np.int64(0), readout=np.int32(2))
    assert (system.drive, system.readout) == (0, 2) and type(system.drive) is int
    value = final_time_loss(system.potential, random_params(jax.random.key(0), 3), (jnp.ones(3), jnp.zeros(3)),
                            jnp.sum, steps=np.int64(3), dt=0.1, u=jnp.zeros(1))
    assert jnp.isfinite(value)
    task = make_task(jax.random.key(0), horizon=np.float64(5.0), steps=np.int64(50))
    result = train(task, random_params(jax.random.key(1), 6), steps=np.int64(2), learning_rate=np.float32(0.01))
    assert result.losses.shape == (3,)


def test_bools_and_non_numbers_are_refused_by_name():
    params = random_params(jax.random.key(0), 3)
    with pytest.raises(rhel.RHELError, match="the horizon T must be a finite number > 0, got True"):
        time_grid(True, 10)
    with pytest.raises(rhel.RHELError, match="steps must be a positive integer, got True"):
        time_grid(3.0, True)
    with pytest.raises(rhel.RHELError, match="steps must be a positive integer, got 2.0"):
        time_grid(3.0, 2.0)
    with pytest.raises(rhel.RHELError, match="drive=True must be an oscillator index"):
        CoupledOscillators([1.0, 2.0, 1.5], drive=True, readout=2)
    with pytest.raises(rhel.RHELError, match=r"steps must be a positive integer \(the number of leapfrog"):
        final_time_loss(CoupledOscillators([1.0, 2.0, 1.5], readout=2).potential, params,
                        (jnp.ones(3), jnp.zeros(3)), jnp.sum, steps=True, dt=0.1)
    task = make_task(jax.random.key(0), horizon=5.0, steps=50)
    with pytest.raises(rhel.RHELError, match="learning_rate must be a finite number > 0, got True"):
        train(task, random_params(jax.random.key(1), 6), steps=2, learning_rate=True)
    with pytest.raises(rhel.RHELError, match="learning_rate must be a finite number > 0, got inf"):
        train(task, random_params(jax.random.key(1), 6), steps=2, learning_rate=float("inf"))
