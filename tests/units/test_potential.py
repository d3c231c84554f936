"""User-defined HRUs: PotentialHRU runs any potential through the engine, identically for BPTT and RHEL."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pytest

import rhel
from rhel.units.drive import AffineDrive
from rhel.units.potential import PotentialHRU


def quadratic(phi, u, params):
    """A linear HRU's potential: ½ Σ a φ² − φᵀ B u (real B)."""
    return 0.5 * jnp.sum(jax.nn.relu(params["a"]) * phi**2) - phi @ (params["B"] @ u)


def make_quadratic(train_dt, dtype=jnp.float64):
    k1, k2, k3 = jr.split(jr.key(0), 3)
    params = {"a": jr.uniform(k1, (6,), dtype, 0.2, 2.0), "B": jr.normal(k2, (6, 3), dtype)}
    return PotentialHRU(
        quadratic, params, hidden=3, state=6, key=k3, dt=0.3 * jnp.ones(6), train_dt=train_dt,
        dtype=dtype,
    )


@eqx.filter_jit
def _grads(hru, u, target, gradient):
    def loss(m, u):
        return jnp.sum((m(u, gradient=gradient) - target) ** 2)

    return eqx.filter_grad(loss)(hru, u), jax.grad(loss, argnums=1)(hru, u)


@pytest.mark.parametrize("epsilon", [0.01, 1.0])
def test_quadratic_potential_rhel_equals_bptt_any_epsilon(x64, epsilon):
    hru = make_quadratic(train_dt=True)
    u = jr.normal(jr.key(1), (40, 3))
    target = jr.normal(jr.key(2), (40, 3))
    gb, gub = _grads(hru, u, target, rhel.BPTT())
    gr, gur = _grads(hru, u, target, rhel.RHEL(epsilon=epsilon))
    leaves_b = jax.tree.leaves(eqx.filter(gb, eqx.is_inexact_array)) + [gub]
    leaves_r = jax.tree.leaves(eqx.filter(gr, eqx.is_inexact_array)) + [gur]
    assert len(leaves_b) == 6  # a, B, C, D, dt_raw, inputs
    for b, r in zip(leaves_b, leaves_r):
        assert jnp.linalg.norm(b) > 0
        assert jnp.linalg.norm(r - b) / jnp.linalg.norm(b) < 1e-10


def test_output_is_readout_of_simulated_positions(x64):
    hru = make_quadratic(train_dt=False)
    u = jr.normal(jr.key(3), (25, 3))
    phis = rhel.simulate(quadratic, hru.params, u, (jnp.zeros(6), jnp.zeros(6)), dt=0.3)
    expected = phis @ hru.C.T + hru.D * u
    assert jnp.allclose(hru(u, gradient=rhel.BPTT()), expected, atol=1e-13)


def test_fixed_dt_is_not_a_parameter_trained_dt_is():
    fixed, trained = make_quadratic(False, jnp.float32), make_quadratic(True, jnp.float32)
    n_fixed = len(jax.tree.leaves(eqx.filter(fixed, eqx.is_inexact_array)))
    n_trained = len(jax.tree.leaves(eqx.filter(trained, eqx.is_inexact_array)))
    assert n_trained == n_fixed + 1
    assert jnp.allclose(trained.step_size(), 0.3) and jnp.allclose(fixed.step_size(), 0.3)


def quadratic_of_drive(phi, v, params):
    """The same potential with its input already mapped: ½ Σ a φ² − φᵀ v, v = B u + b (outside)."""
    return 0.5 * jnp.sum(jax.nn.relu(params["a"]) * phi**2) - phi @ v


@pytest.mark.parametrize("gradient", [rhel.BPTT(), rhel.RHEL(epsilon=0.1)], ids=["bptt", "rhel"])
def test_a_drive_is_the_same_unit_with_less_work_per_step(x64, gradient):
    """V(φ; B u + b) inside the recurrence and W(φ; v) with the drive v = B u + b outside it are the same
    unit: same outputs, and the same gradients for B, b, u and every other parameter."""
    k1, k2, k3, k4 = jr.split(jr.key(0), 4)
    a, B = jr.uniform(k1, (6,), jnp.float64, 0.2, 2.0), jr.normal(k2, (6, 3), jnp.float64)
    b = jr.normal(k4, (6,), jnp.float64)

    def with_bias(phi, u, params):
        return quadratic(phi, u, params) - phi @ params["b"]

    common = dict(hidden=3, state=6, key=k3, dt=0.3 * jnp.ones(6), train_dt=True, dtype=jnp.float64)
    inner = PotentialHRU(with_bias, {"a": a, "B": B, "b": b}, **common)
    outer = PotentialHRU(quadratic_of_drive, {"a": a}, drive=AffineDrive(B=B, b=b), **common)
    u, target = jr.normal(jr.key(5), (40, 3)), jr.normal(jr.key(6), (40, 3))
    assert jnp.allclose(inner(u, gradient=gradient), outer(u, gradient=gradient), rtol=1e-12)
    (gi, gui), (go, guo) = _grads(inner, u, target, gradient), _grads(outer, u, target, gradient)
    pairs = [
        (gi.params["a"], go.params["a"]), (gi.params["B"], go.drive.B), (gi.params["b"], go.drive.b),
        (gi.C, go.C), (gi.D, go.D), (gi.dt_raw, go.dt_raw), (gui, guo),
    ]
    for x, y in pairs:
        assert jnp.linalg.norm(x) > 0
        assert jnp.linalg.norm(x - y) / jnp.linalg.norm(x) < 1e-9


def test_bad_configuration_raises_rhel_error():
    with pytest.raises(rhel.RHELError, match="dt must lie"):
        PotentialHRU(quadratic, {}, hidden=3, state=6, key=jr.key(0), dt=2.0)
    with pytest.raises(rhel.RHELError, match="shape"):
        PotentialHRU(quadratic, {}, hidden=3, state=6, key=jr.key(0), dt=jnp.ones(5) * 0.1)
    with pytest.raises(rhel.RHELError, match="potential must be a function"):
        PotentialHRU("V", {}, hidden=3, state=6, key=jr.key(0))
    with pytest.raises(rhel.RHELError, match="drive must be a module or function"):
        PotentialHRU(quadratic, {}, hidden=3, state=6, key=jr.key(0), drive="Bu")
    hru = make_quadratic(False, jnp.float32)
    with pytest.raises(rhel.RHELError, match=r"expects inputs of shape \(L, 3\)"):
        hru(jnp.ones((2, 10, 3)), gradient=rhel.BPTT())
    with pytest.raises(rhel.RHELError, match=r"expects inputs of shape \(L, 3\)"):
        hru([1.0, 2.0, 3.0], gradient=rhel.BPTT())
    # a nested list is an array like any other
    assert hru([[1.0, 2.0, 3.0]] * 4, gradient=rhel.BPTT()).shape == (4, 3)
    with pytest.raises(rhel.RHELError, match=r"dtype must be a real floating dtype"):
        rhel.units.nonlinear.nonlinear_hru(3, 2, key=jr.key(0), dtype=jnp.int32)


def test_a_potential_closing_over_a_differentiated_value(x64):
    """A weight captured by the potential's closure (not passed in params) gets its gradient from the echo
    too, as in rhel.simulate; before, RHEL left its tracer behind (UnexpectedTracerError)."""
    u = jr.normal(jr.key(4), (30, 3))

    def loss(c, gradient):
        def potential(phi, u, params):
            return c * quadratic(phi, u, params)

        base = make_quadratic(train_dt=True)
        hru = PotentialHRU(potential, base.params, hidden=3, state=6, key=jr.key(0), dt=0.3 * jnp.ones(6),
                           train_dt=True)
        return jnp.sum(jnp.sin(hru(u, gradient=gradient)))

    want = jax.grad(loss)(0.7, rhel.BPTT())
    got = jax.grad(loss)(0.7, rhel.RHEL(0.1))
    assert abs(want) > 1e-3 and abs(got - want) <= 1e-10 * abs(want)


def test_float64_parameters_with_float32_inputs_under_rhel(x64):
    """The forward pass runs in the inputs' float32 (check_system casts δ); the echo must too, or its scan
    carry is promoted by the float64 δ (a carry-type error). δ's gradient keeps its own float64."""
    hru = make_quadratic(train_dt=True, dtype=jnp.float64)
    u = jr.normal(jr.key(5), (30, 3), jnp.float32)

    @eqx.filter_jit
    def grads(gradient):
        return eqx.filter_grad(lambda m: jnp.sum(jnp.sin(m(u, gradient=gradient))))(hru)

    want, got = grads(rhel.BPTT()), grads(rhel.RHEL(0.1))
    assert got.dt_raw.dtype == jnp.float64
    for b, r in zip(jax.tree.leaves(eqx.filter(want, eqx.is_inexact_array)),
                    jax.tree.leaves(eqx.filter(got, eqx.is_inexact_array))):
        assert jnp.linalg.norm(r - b) <= 1e-4 * jnp.linalg.norm(b)  # float32 round-off of the two methods
