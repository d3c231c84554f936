"""The nudge's scale c (``RHEL.nudge_scale``) is what the module docstring of :mod:`rhel.engine.gradient`
says it is, at every length (its reduction runs over blocks of rows, with a remainder), and ε means the
same thing in both modes: relative RHEL(ε) is absolute RHEL(ε·max δ / c), step for step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from engine_systems import make_problem, max_relative_error, nonlinear_potential

import rhel
from rhel.engine import gradient as G

# lengths around the reduction's block: none, one, one with a remainder, several, several plus a remainder
LENGTHS = (1, G._NORM_BLOCK - 1, G._NORM_BLOCK, G._NORM_BLOCK + 1, 3 * G._NORM_BLOCK, 1000)


@pytest.mark.parametrize("length", LENGTHS)
def test_relative_scale_is_the_sum_of_the_weighted_rows_norms(x64, length):
    rng = np.random.default_rng(length)
    g = rng.standard_normal((length, 2, 5))  # rows of any shape: (K, P) for the linear HRU
    step = rng.uniform(0.05, 0.9, 5)
    want = np.sum(np.linalg.norm((step * g).reshape(length, -1), axis=1))
    method = rhel.RHEL()
    weighted = float(jax.jit(lambda g, s: method.nudge_scale(g, s, weight=s))(g, step))
    prepared = float(jax.jit(method.nudge_scale)(step * g, step))
    assert weighted == pytest.approx(want, rel=1e-12)
    assert prepared == pytest.approx(want, rel=1e-12)


def test_absolute_scale_is_the_largest_step(x64):
    g = jnp.ones((300, 3))
    assert float(rhel.RHEL(nudge="absolute").nudge_scale(g, jnp.array([0.1, -0.4, 0.2]))) == 0.4
    assert float(rhel.RHEL(nudge="absolute").nudge_scale(g, jnp.asarray(0.3))) == 0.3


@pytest.mark.parametrize("length", [G._NORM_BLOCK, 1000])
def test_zero_cotangent_gives_scale_one(x64, length):
    """No nudge to normalise: c = 1, so that the echo's factor c/ε stays finite."""
    assert float(rhel.RHEL().nudge_scale(jnp.zeros((length, 4)), jnp.asarray(0.1))) == 1.0


def test_relative_epsilon_is_the_absolute_epsilon_rescaled(x64):
    """On a nonlinear system (where ε matters, O(ε²)) over 1,000 steps: the same kicks, the same gradients."""
    length = 1000
    params, inputs, phi0, pi0, dt, _ = make_problem(11, "nonlinear", 3, 2, length, True)
    weights = jnp.asarray(np.random.default_rng(11).standard_normal((length, 3)))  # g_k of the loss

    def grads(method):
        def loss(params, inputs):
            phis = rhel.simulate(nonlinear_potential, params, inputs, (phi0, pi0), dt=dt, gradient=method)
            return jnp.sum(weights * phis)  # linear in φ: the cotangents are exactly ``weights``

        return jax.jit(jax.grad(loss, argnums=(0, 1)))(params, inputs)

    epsilon = 0.3  # large, so that a different nudge would show as an O(ε²) difference
    c = float(np.sum(np.linalg.norm(np.asarray(dt) * np.asarray(weights), axis=1)))
    relative = grads(rhel.RHEL(epsilon))
    absolute = grads(rhel.RHEL(epsilon * float(jnp.max(dt)) / c, nudge="absolute"))
    assert max_relative_error(relative, absolute) <= 1e-11
    # and a wrong c would show: the bias at this ε is far above the agreement asserted above
    off = grads(rhel.RHEL(2 * epsilon * float(jnp.max(dt)) / c, nudge="absolute"))
    assert max_relative_error(off, relative) > 1e-6
