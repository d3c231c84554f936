"""Trajectory-free memory: XLA's compiled memory analysis of the jitted gradient at two lengths.

The growth per step of the temporary buffers of ``jax.jit(jax.grad(loss))`` is measured between
L1 and L2. The gradient is taken w.r.t. the parameters and the inputs, so the input gradients are an
output buffer, not a temporary one. What any reverse-mode method must hold per step is the forward
output φ_k and its cotangent ∂L/∂φ_k (P floats each); RHEL must need nothing more, while BPTT stores
the trajectory of the scan (and more for every intermediate of the step), and BPTT with a
rematerialised step still stores the state (φ_k, π_k) of every step.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from engine_systems import make_problem, nonlinear_potential

import rhel
from rhel.engine.gradient import _NORM_BLOCK

P, H = 16, 4
# L2 − L1 is a multiple of the block of the nudge scale's reduction, whose buffers are bounded (at most
# one block of row norms) but depend on L mod the block: so they cancel from the growth per step.
L1, L2 = 1000, 1000 + 12 * _NORM_BLOCK


def temp_bytes(method, L) -> int:
    params, _, phi0, pi0, _, _ = make_problem(0, "nonlinear", P, H, 1, False)
    inputs = jnp.zeros((L, H))

    def loss(params, inputs):
        phis = rhel.simulate(nonlinear_potential, params, inputs, (phi0, pi0), dt=0.1, gradient=method)
        return jnp.mean(phis**2)

    compiled = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(params, inputs).compile()
    return compiled.memory_analysis().temp_size_in_bytes


@pytest.fixture(scope="module")
def per_step():
    """Bytes of temporaries per step for each method (run with ``-s`` to print the table)."""
    methods = {
        "bptt": rhel.BPTT(),
        "bptt_checkpoint": rhel.BPTT(checkpoint=True),
        "rhel": rhel.RHEL(),
    }
    result = {}
    with jax.enable_x64(True):
        for name, method in methods.items():
            t1, t2 = temp_bytes(method, L1), temp_bytes(method, L2)
            result[name] = (t2 - t1) / (L2 - L1)
            print(f"{name:16s} temp L={L1}: {t1:>9,d} B   L={L2}: {t2:>9,d} B   {result[name]:.0f} B/step")
    return result


def test_rhel_stores_nothing_per_step_beyond_outputs_and_their_cotangents(per_step):
    itemsize = np.dtype(np.float64).itemsize
    outputs_and_cotangents = 2 * P * itemsize
    assert per_step["rhel"] <= outputs_and_cotangents, per_step


def test_bptt_memory_grows_faster_with_length(per_step):
    # checkpointed BPTT keeps (φ_k, π_k) for every step on top of the outputs and cotangents
    assert per_step["bptt_checkpoint"] >= per_step["rhel"] + 2 * P * 8, per_step
    assert per_step["bptt"] > per_step["bptt_checkpoint"], per_step
