"""Bad input raises an error naming the problem and the fix, never a raw JAX trace."""

import equinox as eqx
import jax
import jax.numpy as jnp
import pytest

import rhel

P, H, L = 3, 2, 5
# JAX re-raises a failed runtime check as JaxRuntimeError (a RuntimeError) or, on some dispatch
# paths, as a ValueError; either way the message carries ours.
RUNTIME_ERRORS = (eqx.EquinoxRuntimeError, RuntimeError, ValueError)


def quadratic(phi, u, p):
    return 0.5 * p * jnp.sum(phi**2) - jnp.sum(phi) * jnp.sum(u)


def quartic(phi, u, p):
    return jnp.sum(p * phi**4) + jnp.sum(phi) * jnp.sum(u)


def run(inputs=None, state0=None, dt=0.1, potential=quadratic, params=1.0, gradient=rhel.BPTT()):
    inputs = jnp.zeros((L, H)) if inputs is None else inputs
    state0 = (jnp.ones(P), jnp.zeros(P)) if state0 is None else state0
    return rhel.simulate(potential, params, inputs, state0, dt=dt, gradient=gradient)


@pytest.mark.parametrize(
    ("inputs", "match"),
    [
        (jnp.zeros(L), r"inputs must have shape \(L, H\).*inputs\[:, None\]"),
        (jnp.zeros((2, L, H)), r"inputs must have shape \(L, H\).*jax.vmap"),
        ([[0.0, 1.0]], r"inputs must have shape \(L, H\)"),
        (jnp.zeros((0, H)), r"length 0.*L >= 1"),
    ],
)
def test_inputs_must_be_two_dimensional(inputs, match):
    with pytest.raises(rhel.RHELError, match=match):
        run(inputs=inputs)


@pytest.mark.parametrize(
    ("state0", "match"),
    [
        ((jnp.ones(P), jnp.zeros(P + 1)), r"same shape \(P,\).*\(3,\) and \(4,\)"),
        ((jnp.ones((P, 1)), jnp.zeros((P, 1))), r"same shape \(P,\)"),
        (jnp.ones(P), r"state0 must be a pair \(phi0, pi0\)"),
        ((jnp.ones(P),), r"state0 must be a pair"),
    ],
)
def test_state0_shapes_must_agree(state0, match):
    with pytest.raises(rhel.RHELError, match=match):
        run(state0=state0)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("inputs", dict(inputs=jnp.zeros((L, H)) * (1 + 1j))),
        ("phi0", dict(state0=(jnp.ones(P) * (1 + 2j), jnp.zeros(P)))),
        ("pi0", dict(state0=(jnp.ones(P), jnp.zeros(P, complex)))),
        ("dt", dict(dt=0.1 + 0j)),
    ],
)
def test_complex_values_are_refused_not_cast(name, kwargs):
    """A cast to real would drop the imaginary part silently (with at most a NumPy ComplexWarning)."""
    with pytest.raises(rhel.RHELError, match=rf"^{name} is complex; .*x\.real, x\.imag"):
        run(**kwargs)


@pytest.mark.parametrize("dt", [None, "0.1"])
def test_dt_must_be_a_number(dt):
    with pytest.raises(rhel.RHELError, match=r"dt must be a number > 0 or an array of them"):
        run(dt=dt)


def test_dt_shape_must_agree_with_state0():
    with pytest.raises(rhel.RHELError, match=r"dt must be a scalar or have one step per dimension, shape \(3,\)"):
        run(dt=jnp.full(P + 1, 0.1))


@pytest.mark.parametrize("dt", [float("nan"), float("inf"), 0.0, -0.1, jnp.array([0.1, jnp.nan, 0.1])])
def test_dt_must_be_finite_and_positive(dt):
    with pytest.raises(rhel.RHELError, match="dt must be finite and > 0"):
        run(dt=dt)


def test_traced_bad_dt_raises_at_run_time():
    jitted = jax.jit(lambda dt: run(dt=dt))
    assert jnp.all(jnp.isfinite(jitted(0.1)))
    with pytest.raises(RUNTIME_ERRORS, match="dt must be finite and > 0.*at run time.*softplus"):
        jax.block_until_ready(jitted(jnp.nan))


def test_potential_must_return_a_scalar():
    with pytest.raises(rhel.RHELError, match=r"must return a floating-point scalar.*shape \(3,\).*jnp.sum"):
        run(potential=lambda phi, u, p: p * phi**2)


def test_potential_that_fails_is_reported_with_shapes():
    with pytest.raises(rhel.RHELError, match=r"potential\(phi, u, params\) failed for phi of shape \(3,\)"):
        run(potential=lambda phi, u, p: jnp.dot(phi, u))


def test_params_must_be_floating_point():
    with pytest.raises(rhel.RHELError, match="floating-point arrays.*dtype=float"):
        run(params=jnp.array(1, jnp.int32))


@pytest.mark.filterwarnings("ignore:A JAX array is being set as static")
@pytest.mark.parametrize("epsilon", [0.0, -0.1, float("nan"), float("inf"), True, jnp.array(0.1)])
def test_epsilon_must_be_a_positive_finite_number(epsilon):
    with pytest.raises(rhel.RHELError, match="epsilon must be a finite number > 0 .*not a JAX array"):
        rhel.RHEL(epsilon=epsilon)


@pytest.mark.parametrize("make", [lambda v: rhel.RHEL(check_finite=v), lambda v: rhel.BPTT(checkpoint=v)])
def test_switches_must_be_booleans(make):
    for bad in ("no", "yes", 0.1, None):
        with pytest.raises(rhel.RHELError, match=r"must be True or False"):
            make(bad)
    for good in (True, False):
        make(good)


def test_nudge_mode_is_checked():
    with pytest.raises(rhel.RHELError, match="nudge must be 'relative' or 'absolute'"):
        rhel.RHEL(nudge="scaled")


def test_gradient_must_be_a_method():
    with pytest.raises(rhel.RHELError, match=r"gradient=rhel.BPTT\(\)"):
        run(gradient="rhel")


def test_rhel_can_be_built_under_jit():
    out = jax.jit(lambda x: x * rhel.RHEL(0.5).epsilon)(1.0)
    assert float(out) == 0.5


def grad_of_quartic(method, loss_scale=1.0, argnums=(0, 1)):
    def loss(p, inputs):
        phis = run(inputs=inputs, potential=quartic, params=p, gradient=method)
        return loss_scale * jnp.sum(phis**2)

    return jax.jit(jax.grad(loss, argnums=argnums))


@pytest.mark.parametrize("argnums", [(0, 1), 0, 1], ids=["both", "params", "inputs"])
def test_nan_in_the_echo_is_reported(argnums):
    """A nudge far too strong makes the echo diverge: reported, not returned as a gradient, whichever
    gradients the caller asks for (each carries its own check)."""
    p, inputs = jnp.asarray(0.1), jnp.zeros((L, H))
    grads = grad_of_quartic(rhel.RHEL(), argnums=argnums)(p, inputs)
    assert all(jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads))
    diverging = grad_of_quartic(rhel.RHEL(epsilon=1e30, nudge="absolute"), argnums=argnums)
    with pytest.raises(RUNTIME_ERRORS, match="The RHEL echo produced a non-finite gradient"):
        jax.block_until_ready(diverging(p, inputs))


def test_nan_from_the_loss_is_not_blamed_on_the_echo():
    """A non-finite cotangent comes from the loss: it propagates like in BPTT, with no echo error."""
    p, inputs = jnp.asarray(0.1), jnp.zeros((L, H))
    grads = grad_of_quartic(rhel.RHEL(), loss_scale=jnp.nan)(p, inputs)
    assert not jnp.isfinite(grads[0])
