"""The physical toy task: learn the springs and couplings so that oscillator 4 tracks a target.

Six coupled oscillators (:mod:`rhel.physics.oscillators`) start at rest and are driven by a force F(t)
on oscillator 1 (a sum of three sinusoids). The target y(t) is what oscillator 4 of a *teacher* system —
the same masses, other springs and couplings — does under the same force, so a perfect fit exists. The
loss is ``L(θ) = ∫₀ᵀ ½ (x_4(t; θ) − y(t))² dt`` (trapezoidal rule on the leapfrog grid), and θ (springs
and couplings) is trained with Adam on the RHEL gradient.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from rhel.argcheck import positive_integer, positive_real
from rhel.engine.gradient import RHEL, GradientMethod
from rhel.errors import RHELError
from rhel.physics.continuous import midpoint_inputs, time_grid, trapezoid_weights
from rhel.physics.oscillators import CoupledOscillators, OscillatorParams, random_params
from rhel.physics.trace import EchoTrace, echo_trace

MASSES = (1.0, 1.4, 0.8, 1.2, 0.9, 1.1)
"""The six masses of the toy."""


def driving_force(t: Float[Array, ""]) -> Float[Array, " 1"]:
    """F(t) = sin(1.1 t) + 0.6 sin(2.3 t + 0.5) + 0.4 sin(0.45 t): the force on oscillator 1."""
    return jnp.array([jnp.sin(1.1 * t) + 0.6 * jnp.sin(2.3 * t + 0.5) + 0.4 * jnp.sin(0.45 * t)])


class ToyTask(eqx.Module):
    """One instance of the toy: the system, the force on the grid, the target and the step."""

    system: CoupledOscillators
    force: Float[Array, " L"]
    """F at the step midpoints t_k + δ/2, k = 0 … L−1."""
    target: Float[Array, " L"]
    """y(t_k), k = 1 … L: the teacher's oscillator-4 position."""
    teacher: OscillatorParams
    horizon: float = eqx.field(static=True)

    @property
    def steps(self) -> int:
        return self.force.shape[0]

    @property
    def dt(self) -> float:
        return self.horizon / self.steps

    @property
    def times(self) -> Float[Array, " L+1"]:
        return time_grid(self.horizon, self.steps)[0]

    def readout(self, x: Float[Array, "L N"]) -> Float[Array, " L"]:
        return x[:, self.system.readout]

    def loss_of_positions(self, x: Float[Array, "L N"]) -> Float[Array, ""]:
        """∫ ½ (x_4 − y)² dt by the trapezoidal rule, from the physical positions x_1 … x_L."""
        weights = trapezoid_weights(self.horizon, self.steps).astype(x.dtype)
        return jnp.sum(weights * 0.5 * (self.readout(x) - self.target) ** 2)

    def loss(self, params: OscillatorParams, gradient: GradientMethod) -> Float[Array, ""]:
        """The loss of θ; ``jax.grad`` of it uses ``gradient`` (RHEL or BPTT) through the system."""
        x = self.system.run(params, self.force, dt=self.dt, gradient=gradient)
        return self.loss_of_positions(x)


def fewest_steps(horizon: float, omega: float) -> int:
    """The fewest leapfrog steps over ``horizon`` whose step δ resolves the angular frequency ``omega``
    (δ·ω < 2, the leapfrog's stability bound)."""
    return int(horizon * omega / 2) + 1


def check_step(system: CoupledOscillators, horizon: float, steps: int,
               params: dict[str, OscillatorParams]) -> None:
    """Raise an :class:`RHELError` unless the step δ = horizon/steps resolves the fastest normal mode of
    every θ in ``params`` (δ·ω_max < 2; the keys name them in the error), which then gives the fewest steps
    that resolve them all. Above the bound the leapfrog grows exponentially and the echo cannot retrace
    the forward pass: RHEL's gradient is then garbage."""
    omegas = {name: float(jnp.max(system.frequencies(p))) for name, p in params.items()}
    name, omega = max(omegas.items(), key=lambda item: item[1])
    dt = horizon / steps
    if dt * omega >= 2:
        raise RHELError(
            f"step {dt:.3g} is too large for the fastest mode (ω = {omega:.3g}, {name}: need δ·ω < 2); "
            f"use at least {fewest_steps(horizon, omega)} leapfrog steps over the horizon (`steps=`; "
            "`rhel physics --grid`)."
        )


def make_task(
    key: PRNGKeyArray, *, horizon: float = 30.0, steps: int = 300, initial: OscillatorParams | None = None
) -> ToyTask:
    """A toy task whose teacher is drawn from ``key``.

    The step δ = horizon/steps must resolve the fastest normal mode (δ·ω_max < 2) of the teacher and, when
    given, of ``initial`` (the θ that training will start from): :func:`check_step` raises otherwise,
    suggesting a number of steps from the larger of their fastest frequencies.
    """
    system = CoupledOscillators(jnp.asarray(MASSES), drive=0, readout=3)
    teacher = random_params(key, system.size)
    force, dt = midpoint_inputs(driving_force, horizon, steps)
    force = force[:, 0]
    params = {"the teacher": teacher} if initial is None else {"the teacher": teacher, "the initial θ": initial}
    check_step(system, horizon, steps, params)
    target = system.run(teacher, force, dt=dt)[:, system.readout]
    return ToyTask(system, force, target, teacher, float(horizon))


class TrainResult(NamedTuple):
    params: OscillatorParams
    """The trained parameters."""
    losses: Float[Array, " S+1"]
    """The loss before each update and after the last one."""
    omega_max: Float[Array, " S+1"]
    """The fastest normal mode's angular frequency before each update and after the last one (training
    has left the leapfrog's stable region where ``task.dt * omega_max >= 2``)."""


def train(
    task: ToyTask,
    params: OscillatorParams,
    *,
    steps: int = 300,
    learning_rate: float = 0.05,
    gradient: GradientMethod = RHEL(),
) -> TrainResult:
    """Adam on ``task.loss`` with the chosen gradient method, compiled as one ``lax.scan``; records the
    loss and the fastest normal mode's frequency at every step (:class:`TrainResult`)."""
    steps = positive_integer("steps", steps)
    learning_rate = positive_real("learning_rate", learning_rate)
    optimiser = optax.adam(learning_rate)

    def omega_max(params):
        return jnp.max(task.system.frequencies(params))

    @jax.jit
    def run(params):
        def update(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(task.loss)(params, gradient)
            delta, state = optimiser.update(grads, state, params)
            return (optax.apply_updates(params, delta), state), (loss, omega_max(params))

        init = (params, optimiser.init(params))
        (params, _), (losses, omegas) = jax.lax.scan(update, init, None, length=steps)
        return (params, jnp.append(losses, task.loss(params, gradient)),
                jnp.append(omegas, omega_max(params)))

    return TrainResult(*run(params))


def echo_of(task: ToyTask, params: OscillatorParams, gradient: RHEL = RHEL()) -> EchoTrace:
    """The RHEL echo of the toy's loss at ``params``, step by step (engine coordinates φ = √m x)."""
    system = task.system
    zeros = jnp.zeros(system.size, task.force.dtype)

    def loss(phis):
        return task.loss_of_positions(system.to_physical(phis))

    return echo_trace(
        system.potential, params, task.force[:, None], (zeros, zeros), loss, dt=task.dt, gradient=gradient
    )
