"""RHEL equals BPTT for every differentiable argument: params, inputs, state0 and dt (float64).

* quadratic potentials: the echo is affine in ε, so the central difference is exact at every ε
  (≤ 1e-9 relative, only round-off remains), in both nudge modes;
* nonlinear potentials: the bias is O(ε²), so at ε = 1e-4 the error is ≤ ε² = 1e-8 (property-based over
  random systems; measured 4e-11 to 2e-10), and over an ε sweep the error grows with slope 2 in log-log.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from engine_systems import all_gradients, make_problem, max_relative_error, nonlinear_potential
from hypothesis import given, settings
from hypothesis import strategies as st

import rhel

ARGUMENTS = ("params", "inputs", "phi0", "pi0", "dt")


def errors_by_argument(seed, kind, per_dim_dt, method, P=3, H=2, L=30):
    params, inputs, phi0, pi0, dt, target = make_problem(seed, kind, P, H, L, per_dim_dt)
    args = (params, inputs, phi0, pi0, dt, target)
    want = all_gradients(*args, kind=kind, method=rhel.BPTT())
    got = all_gradients(*args, kind=kind, method=method)
    return {name: max_relative_error(g, w) for name, g, w in zip(ARGUMENTS, got, want)}


@pytest.mark.parametrize(
    ("nudge", "per_dim_dt", "epsilons"),
    [("relative", True, (1e-3, 0.1, 1.0, 10.0)), ("absolute", False, (1e-3, 10.0))],
)
def test_quadratic_potential_is_exact_at_every_epsilon(x64, nudge, per_dim_dt, epsilons):
    for epsilon in epsilons:
        errors = errors_by_argument(3, "quadratic", per_dim_dt, rhel.RHEL(epsilon, nudge=nudge))
        assert max(errors.values()) <= 1e-9, (epsilon, errors)


@settings(max_examples=12, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**31 - 1), nudge=st.sampled_from(["relative", "absolute"]))
def test_nonlinear_potentials_match_bptt_at_small_epsilon(seed, nudge):
    # per-dimension dt (the general case; a scalar dt is covered by the quadratic test above)
    with jax.enable_x64(True):
        errors = errors_by_argument(seed, "nonlinear", True, rhel.RHEL(1e-4, nudge=nudge))
    assert max(errors.values()) <= 1e-8, errors


def test_nonlinear_error_grows_as_epsilon_squared(x64):
    epsilons = np.array([0.4, 0.2, 0.1])
    errors = [
        max(errors_by_argument(5, "nonlinear", True, rhel.RHEL(float(e))).values()) for e in epsilons
    ]
    slope = np.polyfit(np.log(epsilons), np.log(errors), 1)[0]
    assert 1.8 <= slope <= 2.2, (slope, errors)
    assert errors[0] > 1e-6  # the sweep is in the bias-dominated range, not round-off


def test_gradients_under_vmap_equal_per_sequence_gradients(x64):
    """A batch of sequences through vmap: each sequence gets its own nudge scale and its own echo."""
    params, _, phi0, pi0, dt, _ = make_problem(7, "nonlinear", 3, 2, 20, True)
    rng = np.random.default_rng(7)
    batch = jnp.asarray(rng.standard_normal((3, 20, 2)))
    scales = jnp.array([1e-3, 1.0, 1e3])  # very different loss scales per sequence
    method = rhel.RHEL(0.1)

    def loss(params, inputs, scale):
        phis = rhel.simulate(nonlinear_potential, params, inputs, (phi0, pi0), dt=dt, gradient=method)
        return scale * jnp.sum(jnp.cos(phis))

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    batched = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1)), in_axes=(None, 0, 0)))(
        params, batch, scales
    )
    for i in range(3):
        single = grad(params, batch[i], scales[i])
        one = jax.tree.map(lambda b: b[i], batched)
        assert max_relative_error(one, single) <= 1e-12


@pytest.mark.parametrize("nudge", ["relative", "absolute"])
def test_zero_cotangent_gives_exactly_zero_gradients(nudge):
    """No nudge, no gradient: not the float32 rounding difference of the two echo lanes."""

    def potential(phi, u, p):
        return 0.5 * p * jnp.sum(phi**2) + jnp.sum(jnp.log(jnp.cosh(phi + u)))

    def loss(p, inputs, phi0, pi0, dt):
        phis = rhel.simulate(potential, p, inputs, (phi0, pi0), dt=dt, gradient=rhel.RHEL(nudge=nudge))
        return 0.0 * jnp.sum(phis)

    args = (1.0, jnp.ones((5, 2)), jnp.ones(2), jnp.full(2, 0.3), jnp.array([0.1, 0.2]))
    grads = jax.jit(jax.grad(loss, argnums=(0, 1, 2, 3, 4)))(*args)
    assert len(jax.tree.leaves(grads)) == 5
    assert all(bool(jnp.all(g == 0)) for g in jax.tree.leaves(grads))


def test_autonomous_system_with_no_inputs(x64):
    """inputs of shape (L, 0): a free system, differentiated w.r.t. its parameters and state."""

    def potential(phi, u, p):
        return 0.5 * p * jnp.sum(phi**2) + jnp.sum(jnp.log(jnp.cosh(phi)))

    def loss(p, phi0, method):
        phis = rhel.simulate(potential, p, jnp.zeros((30, 0)), (phi0, -phi0), dt=0.2, gradient=method)
        return jnp.sum(jnp.sin(phis))

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)), static_argnums=2)
    phi0 = jnp.array([0.3, -1.0])
    assert max_relative_error(grad(1.0, phi0, rhel.RHEL(1e-4)), grad(1.0, phi0, rhel.BPTT())) <= 1e-8


@pytest.mark.parametrize("kind", ["quadratic", "nonlinear"])
def test_checkpointed_bptt_equals_bptt(x64, kind):
    """``BPTT(checkpoint=True)`` recomputes each step in the backward pass: the same gradients."""
    errors = errors_by_argument(5, kind, True, rhel.BPTT(checkpoint=True))
    assert max(errors.values()) <= 1e-12, errors
