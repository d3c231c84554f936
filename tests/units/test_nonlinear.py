"""The nonlinear HRU: spec dynamics, exact derivatives, RHEL ≈ BPTT (O(ε²)) and float32 conditioning."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rhel
from rhel.units.nonlinear import NonlinearParams, logcosh_bracket, nonlinear_hru, nonlinear_potential
from rhel.units.potential import PotentialHRU


def _logcosh(x):
    return jnp.logaddexp(x, -x) - jnp.log(2.0)


def spec_potential(phi, v, p):
    """The spec's V written naively: (α/2)‖φ‖² + Σ c log cosh(wφ + v)/w, with the drive v = Bu + b."""
    return 0.5 * p.alpha * jnp.sum(phi**2) + jnp.sum(p.c * _logcosh(p.w * phi + v) / p.w)


def test_bracket_derivatives_match_plain_autodiff_to_second_order(x64):
    phi = jnp.array([0.3, -1e-3, 2.0, 5.0, -0.7])
    w = jnp.array([0.5, 0.2, 1.5, 3.0, 0.1])
    v = jnp.array([0.1, 3.0, -1.0, 40.0, -2.0])

    def naive(p, w, v):
        return jnp.sum((_logcosh(w * p + v) - _logcosh(v)) / w)

    def ours(p, w, v):
        return jnp.sum(logcosh_bracket(p, w, v))

    for order in (jax.grad, jax.hessian):
        a = jax.jit(order(ours, argnums=(0, 1, 2)))(phi, w, v)
        b = jax.jit(order(naive, argnums=(0, 1, 2)))(phi, w, v)
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            assert jnp.allclose(x, y, rtol=1e-9, atol=1e-12)


def test_bracket_in_float32_is_accurate_over_the_whole_range(x64):
    """The float32 bracket and its derivatives against float64 naive log cosh, from tiny to huge wφ and v
    (relative precision, so that RHEL's difference of two nearly equal echoes keeps its digits)."""
    rng = np.random.default_rng(0)
    n = 20_000
    phi = rng.normal(size=n) * 10 ** rng.uniform(-7, 2.5, n)
    w = rng.uniform(0.1, 3.0, n)
    v = rng.normal(size=n) * 10 ** rng.uniform(-3, 2, n)

    def naive(p, w, v):
        return (_logcosh(w * p + v) - _logcosh(v)) / w

    want = naive(phi, w, v)
    args32 = [jnp.asarray(x, jnp.float32) for x in (phi, w, v)]
    got = logcosh_bracket(*args32)
    assert got.dtype == jnp.float32 and jnp.all(jnp.isfinite(got))
    rel = np.abs(np.asarray(got, np.float64) - want) / np.abs(want)
    assert np.quantile(rel, 0.999) < 3e-5 and rel.max() < 1e-3
    # what the cancellation-free forms buy: the naive difference of log cosh in float32
    naive32 = np.asarray(naive(*args32), np.float64)
    assert np.quantile(np.abs(naive32 - want) / np.abs(want), 0.999) > 1e-1
    # ∂/∂φ = tanh(wφ + v) and ∂/∂v = [tanh(wφ + v) − tanh v]/w (the input gradients), both bounded
    # by 2/w: to float32 round-off of that scale (and of the float32 inputs themselves)
    for arg in (0, 2):
        g32 = jax.vmap(jax.grad(logcosh_bracket, argnums=arg))(*args32)
        g64 = jax.vmap(jax.grad(naive, argnums=arg))(*(jnp.asarray(x) for x in (phi, w, v)))
        assert np.max(np.abs(np.asarray(g32, np.float64) - np.asarray(g64)) * w) < 1e-5


def test_force_is_the_spec_force(x64):
    hru = nonlinear_hru(4, 8, key=jr.key(0))
    p, drive = hru.params, hru.drive
    phi, u = jr.normal(jr.key(1), (8,)), jr.normal(jr.key(2), (4,))
    v = drive(u[None])[0]
    force = -jax.grad(nonlinear_potential)(phi, v, p)
    expected = -p.alpha * phi - p.c * jnp.tanh(p.w * phi + drive.B @ u + drive.b)
    assert jnp.allclose(force, expected, rtol=1e-12)
    # same force as the naive spec potential: the dynamics are identical
    assert jnp.allclose(force, -jax.grad(spec_potential)(phi, v, p), rtol=1e-12)


def _pair_problem(rng, n, gap, dtype):
    """Random parameters, drives and pairs (mean ``φ``, half-difference ``gap·noise``: the lanes
    ``φ ± gap·noise``) over wide ranges of |wφ + v|."""
    p = NonlinearParams(
        w_raw=jnp.asarray(rng.normal(size=n), dtype),
        c_raw=jnp.asarray(rng.normal(size=n), dtype),
        alpha_raw=jnp.asarray(0.3, dtype),
    )
    phi = rng.normal(size=n) * 10 ** rng.uniform(-3, 1.5, n)
    v = rng.normal(size=n) * 10 ** rng.uniform(-3, 1.5, n)
    pair = np.stack([phi, gap * rng.normal(size=n)])
    return p, jnp.asarray(pair, dtype), jnp.asarray(v, dtype)


@pytest.mark.parametrize("gap", [1e-5, 1e-2, 1.0, 30.0])
def test_echo_derivatives_match_autodiff(x64, gap):
    """The closed-form lane differences equal autodiff's, from echoes a hair apart to far apart and
    from unsaturated to saturated tanh (|wφ + v| up to ~100; beyond ~300 exp underflows in float64)."""
    p, pair, v = _pair_problem(np.random.default_rng(0), 5_000, gap, jnp.float64)
    errors = rhel.echo_derivatives_error(nonlinear_potential, p, pair, v)
    # autodiff itself loses ~1e-16·|wφ|/gap of relative precision in its difference (checked against
    # 80-bit long double: at gap 1e-5 the closed form is within 2e-13 of it, autodiff 4e-10)
    assert max(errors) < 1e-12 + 1e-13 / gap


def test_echo_derivatives_in_float32_keep_their_digits_where_autodiff_loses_them(x64):
    """In float32 the closed form stays at round-off against float64 for nearby echoes, while autodiff's
    difference of two nearly equal gradients loses most digits."""
    from rhel.engine.pair import autodiff_pair_derivatives

    for gap in (1e-5, 1e-3):
        problem = _pair_problem(np.random.default_rng(1), 20_000, gap, jnp.float32)
        p32, pair32, v32 = problem
        p64, pair64, v64 = jax.tree.map(lambda x: x.astype(jnp.float64), problem)  # the same numbers
        closed_form = jax.jit(nonlinear_potential.echo_derivatives)
        want, closed = closed_form(pair64, v64, p64), closed_form(pair32, v32, p32)
        auto = jax.jit(lambda *a: autodiff_pair_derivatives(nonlinear_potential, *a))(pair32, v32, p32)

        def error(got):
            return max(_per_leaf(got, want, _rel))

        assert error(closed) < 2e-6
        assert error(auto) > 100 * error(closed)


def test_rhel_gradients_are_the_same_with_the_closed_form_and_with_autodiff(x64):
    base = nonlinear_hru(5, 7, key=jr.key(3))

    def unit(potential):  # the same key: the same readout C, D
        return PotentialHRU(
            potential, base.params, hidden=5, state=7, key=jr.key(4), dt=0.05, drive=base.drive
        )

    hru, plain = unit(nonlinear_potential), unit(lambda phi, v, p: nonlinear_potential(phi, v, p))
    u, target = jr.normal(jr.key(5), (80, 5)), jr.normal(jr.key(6), (80, 5))
    closed = _hru_grads(hru, u, target, rhel.RHEL())
    auto = _hru_grads(plain, u, target, rhel.RHEL())
    assert max(_per_leaf(closed, auto, _rel)) < 1e-9


def test_w_is_kept_away_from_zero():
    p = NonlinearParams(
        w_raw=jnp.array([-1e4, -50.0, 0.0]), c_raw=jnp.zeros(3), alpha_raw=jnp.array(0.0), w_min=0.1,
    )
    assert jnp.all(p.w >= 0.1) and jnp.all(jnp.isfinite(p.w))
    g = jax.grad(nonlinear_potential, argnums=2)(jnp.ones(3), jnp.ones(3), p)
    assert all(jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(g))


@eqx.filter_jit
def _hru_grads(hru, u, target, gradient):
    def loss(m):
        return jnp.mean((m(u, gradient=gradient) - target) ** 2)

    return eqx.filter_grad(loss)(hru)


def _per_leaf(a, b, fn):
    la = jax.tree.leaves(eqx.filter(a, eqx.is_inexact_array))
    lb = jax.tree.leaves(eqx.filter(b, eqx.is_inexact_array))
    assert len(la) == len(lb) and la
    return [fn(x.ravel().astype(jnp.float64), y.ravel().astype(jnp.float64)) for x, y in zip(la, lb)]


def _rel(x, y):
    return float(jnp.linalg.norm(x - y) / jnp.linalg.norm(y))


def _cos(x, y):
    return float(x @ y / (jnp.linalg.norm(x) * jnp.linalg.norm(y)))


def test_rhel_matches_bptt_with_eps_squared_bias(x64):
    hru = nonlinear_hru(6, 12, key=jr.key(0))  # trained per-dimension dt
    u, target = jr.normal(jr.key(1), (150, 6)), jr.normal(jr.key(2), (150, 6))
    ref = _hru_grads(hru, u, target, rhel.BPTT())
    errors = {
        eps: max(_per_leaf(_hru_grads(hru, u, target, rhel.RHEL(epsilon=eps)), ref, _rel))
        for eps in (0.01, 0.1)
    }
    assert errors[0.01] <= 1e-5
    assert 30 < errors[0.1] / errors[0.01] < 300  # O(ε²): a tenfold ε gives a hundredfold error


@pytest.mark.parametrize("gradient", [rhel.BPTT(), rhel.RHEL(epsilon=0.1)], ids=["bptt", "rhel"])
def test_float32_gradients_match_float64_bptt_at_the_papers_tiny_step(x64, gradient):
    def build(potential):
        base = nonlinear_hru(8, 16, key=jr.key(0), dt=1e-4, train_dt=False, dtype=jnp.float64)
        return PotentialHRU(
            potential, base.params, hidden=8, state=16, key=jr.key(1), dt=1e-4, dtype=jnp.float64,
            drive=base.drive,
        )

    def to32(tree):
        return jax.tree.map(lambda x: x.astype(jnp.float32) if eqx.is_inexact_array(x) else x, tree)

    u, target = jr.normal(jr.key(2), (200, 8)), jr.normal(jr.key(3), (200, 8))
    cosines = {}
    for potential in (nonlinear_potential, spec_potential):
        hru = build(potential)
        ref = _hru_grads(hru, u, target, rhel.BPTT())
        g32 = _hru_grads(to32(hru), to32(u), to32(target), gradient)
        cosines[potential] = min(_per_leaf(g32, ref, _cos))
    assert cosines[nonlinear_potential] >= 0.999
    if isinstance(gradient, rhel.RHEL):  # the naive form is what breaks RHEL in float32 (on w)
        assert cosines[spec_potential] < 0.9


def test_float32_echo_over_thousands_of_steps_rounds_like_bptt(x64):
    """The echoes are stored as their mean and half-difference (``rhel.engine.pair``), so their O(ε)
    difference is not rounded against the O(1) states: over 4,000 steps at a small ε, float32 RHEL is as
    far from float64 RHEL (the same ε, so the O(ε²) bias cancels) as float32 BPTT is from float64 BPTT.
    Two lanes stored side by side gave 700 × BPTT's round-off here (1.1e-2 against 1.5e-5). The pair's
    own round-off is the same arithmetic's noise: 1.1 × BPTT's with XLA's loop of kernels, 3.5 × with the
    loop compiled into one kernel (``rhel.compile_small_loops``; the echo alone on other inputs went the
    other way, 5.5e-5 → 1.9e-5): the bound, 10 ×, separates that noise from the lanes' 700 ×."""
    hru = nonlinear_hru(16, 16, key=jr.key(0), dtype=jnp.float64)
    u, target = jr.normal(jr.key(1), (4000, 16)), jr.normal(jr.key(2), (4000, 16))

    def to32(tree):
        return jax.tree.map(lambda x: x.astype(jnp.float32) if eqx.is_inexact_array(x) else x, tree)

    def error(gradient):
        got = _hru_grads(to32(hru), to32(u), to32(target), gradient)
        return max(_per_leaf(got, _hru_grads(hru, u, target, gradient), _rel))

    floor = error(rhel.BPTT())
    assert error(rhel.RHEL(epsilon=0.01)) <= 10 * floor, floor


def test_large_inputs_stay_finite():
    hru = nonlinear_hru(3, 5, key=jr.key(0))
    u = 1e3 * jr.normal(jr.key(1), (30, 3))
    g = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(u, gradient=rhel.RHEL()) ** 2)))(hru)
    assert all(jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(eqx.filter(g, eqx.is_inexact_array)))
