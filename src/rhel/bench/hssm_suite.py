"""The HSSM suite: one full training step of a Hamiltonian SSM classifier on random data.

The step is the trainer's own (:func:`rhel.training.trainer.make_train_step`): batch loss, gradient
by the chosen method, Adam update, batch-norm state update. ``forward`` times the batch loss alone (the
same forward pass, no gradient, no update). The data are random inputs and labels of the configured
shape; the time of a step does not depend on their values.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from rhel.bench.config import Config

LEARNING_RATE = 1e-4


def _gradient(config: Config):
    import rhel

    if config.method == "rhel":
        return rhel.RHEL(epsilon=config.epsilon)
    return rhel.BPTT(checkpoint=config.method == "bptt_checkpoint")


def arrays_only(step, carry):
    """Turn ``carry = step(carry, data)`` over a pytree with static leaves into a ``jax.jit`` step.

    The step must return a carry with the same non-array part as it receives (a training step does).
    Returns ``(jitted_step, array_carry)``; the jitted step maps the array part to the array part.
    """
    dynamic, static = eqx.partition(carry, eqx.is_array)

    def array_step(dynamic, data):
        out = step(eqx.combine(dynamic, static), data)
        return eqx.partition(out, eqx.is_array)[0]

    return jax.jit(array_step), dynamic


def build(config: Config):
    """Return ``(step, carry, data)`` for :func:`rhel.bench.measure.time_step`."""
    import optax

    from rhel.model import batch_loss, make_hssm
    from rhel.training.checkpoint import TrainState
    from rhel.training.trainer import make_train_step

    key_model, key_train, key_x, key_y = jax.random.split(jax.random.PRNGKey(config.seed), 4)
    model, bn_state = make_hssm(
        config.model,
        d_in=config.d_in,
        d_out=config.classes,
        task="classification",
        hidden=config.hidden,
        state_size=config.state,
        blocks=config.blocks,
        key=key_model,
        dtype=jnp.float32,
    )
    x = jax.random.normal(key_x, (config.batch, config.length, config.d_in))
    y = jax.random.randint(key_y, (config.batch,), 0, config.classes)
    mask = jnp.ones((config.batch, config.length), bool)
    optimizer = optax.adam(LEARNING_RATE)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    state = TrainState(model=model, bn_state=bn_state, opt_state=opt_state, key=key_train)
    gradient = _gradient(config)

    if config.method == "forward":

        def step(carry, data):
            state, _ = carry
            loss, _ = batch_loss(state.model, state.bn_state, *data, key=state.key, gradient=gradient)
            return state, loss

    else:
        train_step = make_train_step(optimizer, gradient)

        def step(carry, data):
            state, _ = carry
            state, loss, _, _ = train_step(state, *data, 0)
            return state, loss

    jitted, carry = arrays_only(step, (state, jnp.zeros(())))
    return jitted, carry, (x, y, mask)
