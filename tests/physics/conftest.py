"""Fixtures of tests/physics."""

import jax
import pytest

from continuous_system import SAMPLE_TIMES, continuous_adjoint, make_params, make_state0


@pytest.fixture(scope="module")
def reference():
    """The continuous adjoint of the test system at SAMPLE_TIMES, in float64."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        times = tuple(sorted(SAMPLE_TIMES, reverse=True))
        lam, grads = continuous_adjoint(make_params(), make_state0(), times)
        yield dict(times=times, lam_phi=lam[0], lam_pi=lam[1], grads=grads)
    finally:
        jax.config.update("jax_enable_x64", previous)
