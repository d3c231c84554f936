"""The generic-engine suite: RHEL against the strongest digital peers on a driven Hamiltonian system.

The system (RHEL-SPEC §5) is ``P`` coupled nonlinear oscillators driven by an ``H``-channel input,

    V(φ; θ, u) = ½ Σ_i a_i φ_i² + Σ_j log cosh((Wφ + Bu + b)_j),     θ = (a, W, B, b),

so the force is ``−a ⊙ φ − Wᵀ tanh(Wφ + Bu + b)`` (all-to-all coupling through ``W``, P×P). The loss
sits on every position, ``ℓ = mean_k ½‖φ_k − y_k‖²`` over ``L`` steps of size ``dt``, and one step of the
benchmark is the value and gradient of that loss w.r.t. all of θ (as in RHEL-SPEC §5; no update, so every
step differentiates the same well-behaved system), ``forward`` the loss alone. The methods:

* ``bptt`` / ``bptt_checkpoint`` / ``rhel``: :func:`rhel.simulate` with ``rhel.BPTT()``,
  ``rhel.BPTT(checkpoint=True)`` and ``rhel.RHEL(epsilon)`` (all the same leapfrog);
* ``diffrax_sie``: Diffrax's ``SemiImplicitEuler`` (symplectic Euler, same cost per step) with its default
  ``RecursiveCheckpointAdjoint``;
* ``diffrax_heun_backsolve``: Diffrax's ``Heun`` with ``BacksolveAdjoint`` (the continuous adjoint, solved
  backwards in time).

The Diffrax methods integrate the same ODE ``φ̇ = π, π̇ = −∇_φ V`` with piecewise-constant inputs and
``L`` fixed steps of size ``dt``, saving the position at every step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from rhel.bench.config import Config
from rhel.errors import RHELError

#: Input channels of the drive, and the leapfrog step (stable: dt²·max eig ∇²V ≈ 0.02 ≪ 4).
DRIVE_CHANNELS = 4
DT = 0.1
#: Coupling strength. Strong enough and the system is chaotic: at 1.0, float32 round-off grows until the
#: echo no longer retraces a 20,000-step forward pass (rhel.reversibility_error ≈ 0.6 relative) and RHEL's
#: gradient is meaningless; at 0.3 the relative reversibility error is ≈ 3e-6 (P=32) and 3e-5 (P=256).
COUPLING = 0.3


def potential(phi, u, params):
    """V(φ; θ, u) = ½ Σ a φ² + Σ log cosh(Wφ + Bu + b), written with a stable log cosh."""
    z = params["W"] @ phi + params["B"] @ u + params["b"]
    log_cosh = jnp.logaddexp(z, -z) - jnp.log(2.0)
    return 0.5 * jnp.sum(params["a"] * phi**2) + jnp.sum(log_cosh)


def init_params(key, state: int) -> dict:
    """θ: stiffness a ∈ [0.5, 1.5], couplings W ~ N(0, COUPLING²/P), drive B ~ N(0, 1/H), bias b ~ N(0, 0.1²)."""
    ka, kw, kb, kbias = jax.random.split(key, 4)
    return {
        "a": jax.random.uniform(ka, (state,), minval=0.5, maxval=1.5),
        "W": COUPLING * jax.random.normal(kw, (state, state)) / jnp.sqrt(state),
        "B": jax.random.normal(kb, (state, DRIVE_CHANNELS)) / jnp.sqrt(DRIVE_CHANNELS),
        "b": 0.1 * jax.random.normal(kbias, (state,)),
    }


def make_data(key, config: Config):
    """A smooth random drive (sums of sines) and random targets, one per step."""
    k_freq, k_phase, k_target = jax.random.split(key, 3)
    t = DT * jnp.arange(config.length)[:, None]
    freq = jax.random.uniform(k_freq, (DRIVE_CHANNELS,), minval=0.05, maxval=1.0)
    phase = jax.random.uniform(k_phase, (DRIVE_CHANNELS,), maxval=2 * jnp.pi)
    inputs = jnp.sin(freq * t + phase)
    targets = 0.5 * jax.random.normal(k_target, (config.length, config.state))
    return inputs, targets


def _rhel_positions(method: str, epsilon: float):
    import rhel

    gradient = {
        "forward": rhel.BPTT(),
        "bptt": rhel.BPTT(),
        "bptt_checkpoint": rhel.BPTT(checkpoint=True),
        "rhel": rhel.RHEL(epsilon=epsilon),
    }[method]

    def positions(params, inputs):
        zeros = jnp.zeros(params["a"].shape, inputs.dtype)
        return rhel.simulate(potential, params, inputs, (zeros, zeros), dt=DT, gradient=gradient)

    return positions


def require_diffrax():
    """Import Diffrax, or explain that it is an optional test dependency."""
    try:
        import diffrax
    except ImportError as e:
        raise RHELError(
            "the Diffrax methods of `rhel bench --suite engine` need Diffrax, which is not installed; "
            "install the test extra (pip install -e '.[test]') or pip install diffrax, or leave the "
            "diffrax_* methods out of --methods."
        ) from e
    return diffrax


def _diffrax_positions(method: str):
    diffrax = require_diffrax()

    def drive(t, inputs):
        k = jnp.clip(jnp.round(t / DT).astype(jnp.int32), 0, inputs.shape[0] - 1)
        return inputs[k]

    def force(t, phi, args):
        params, inputs = args
        return -jax.grad(potential)(phi, drive(t, inputs), params)

    def positions(params, inputs):
        length = inputs.shape[0]
        zeros = jnp.zeros(params["a"].shape, inputs.dtype)
        ts = DT * jnp.arange(1, length + 1, dtype=inputs.dtype)
        common = dict(
            t0=0.0,
            t1=DT * length,
            dt0=DT,
            args=(params, inputs),
            saveat=diffrax.SaveAt(ts=ts),
            stepsize_controller=diffrax.ConstantStepSize(),
            max_steps=length + 1,
        )
        if method == "diffrax_sie":
            terms = (diffrax.ODETerm(lambda t, pi, args: pi), diffrax.ODETerm(force))
            sol = diffrax.diffeqsolve(
                terms, diffrax.SemiImplicitEuler(), y0=(zeros, zeros), **common
            )
        else:
            term = diffrax.ODETerm(lambda t, y, args: (y[1], force(t, y[0], args)))
            sol = diffrax.diffeqsolve(
                term, diffrax.Heun(), y0=(zeros, zeros), adjoint=diffrax.BacksolveAdjoint(), **common
            )
        return sol.ys[0]

    return positions


def build(config: Config):
    """Return ``(step, carry, data)`` for :func:`rhel.bench.measure.time_step`."""
    key_params, key_data = jax.random.split(jax.random.PRNGKey(config.seed))
    params = init_params(key_params, config.state)
    inputs, targets = make_data(key_data, config)
    if config.method.startswith("diffrax"):
        positions = _diffrax_positions(config.method)
    else:
        positions = _rhel_positions(config.method, config.epsilon)

    def loss(params, inputs, targets):
        return 0.5 * jnp.mean(jnp.sum((positions(params, inputs) - targets) ** 2, axis=-1))

    if config.method == "forward":

        def step(carry, data):
            params, _ = carry
            return params, loss(params, *data)

    else:

        def step(carry, data):
            params, _, _ = carry
            value, grads = jax.value_and_grad(loss)(params, *data)
            return params, value, grads

    carry = (params, jnp.zeros(())) if config.method == "forward" else (params, jnp.zeros(()), params)
    return jax.jit(step), carry, (inputs, targets)
