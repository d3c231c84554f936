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

from rhel.engine.gradient import RHEL, GradientMethod
from rhel.errors import RHELError
from rhel.physics.checks import positive_integer, positive_real
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


def make_task(key: PRNGKeyArray, *, horizon: float = 30.0, steps: int = 300) -> ToyTask:
    """A toy task whose teacher is drawn from ``key``. The step δ = horizon/steps must resolve the
    fastest normal mode (δ·ω_max < 2); an error says so otherwise."""
    system = CoupledOscillators(jnp.asarray(MASSES), drive=0, readout=3)
    teacher = random_params(key, system.size)
    force, dt = midpoint_inputs(driving_force, horizon, steps)
    force = force[:, 0]
    omega = float(jnp.max(system.frequencies(teacher)))
    if dt * omega >= 2:
        raise RHELError(
            f"step {dt:.3g} is too large for the fastest mode (ω = {omega:.3g}: need δ·ω < 2); "
            f"use at least {int(horizon * omega / 2) + 1} leapfrog steps over the horizon (`steps=`; "
            "`rhel physics --grid`)."
        )
    target = system.run(teacher, force, dt=dt)[:, system.readout]
    return ToyTask(system, force, target, teacher, float(horizon))


class TrainResult(NamedTuple):
    params: OscillatorParams
    """The trained parameters."""
    losses: Float[Array, " S+1"]
    """The loss before each update and after the last one."""


def train(
    task: ToyTask,
    params: OscillatorParams,
    *,
    steps: int = 300,
    learning_rate: float = 0.05,
    gradient: GradientMethod = RHEL(),
) -> TrainResult:
    """Adam on ``task.loss`` with the chosen gradient method, compiled as one ``lax.scan``."""
    steps = positive_integer("steps", steps)
    learning_rate = positive_real("learning_rate", learning_rate)
    optimiser = optax.adam(learning_rate)

    @jax.jit
    def run(params):
        def update(carry, _):
            params, state = carry
            loss, grads = jax.value_and_grad(task.loss)(params, gradient)
            delta, state = optimiser.update(grads, state, params)
            return (optax.apply_updates(params, delta), state), loss

        (params, _), losses = jax.lax.scan(update, (params, optimiser.init(params)), None, length=steps)
        return params, jnp.append(losses, task.loss(params, gradient))

    trained, losses = run(params)
    return TrainResult(trained, losses)


def echo_of(task: ToyTask, params: OscillatorParams, gradient: RHEL = RHEL()) -> EchoTrace:
    """The RHEL echo of the toy's loss at ``params``, step by step (engine coordinates φ = √m x)."""
    system = task.system
    zeros = jnp.zeros(system.size, task.force.dtype)

    def loss(phis):
        return task.loss_of_positions(system.to_physical(phis))

    return echo_trace(
        system.potential, params, task.force[:, None], (zeros, zeros), loss, dt=task.dt, gradient=gradient
    )
