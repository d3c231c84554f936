from rhel.xla_loops import compile_small_loops

# The tests run JAX as the rhel command does: small loops compiled into one kernel each (set before JAX
# starts; RHEL_COMPILE_SMALL_LOOPS=0 runs the suite with XLA's default instead).
compile_small_loops()

import jax  # noqa: E402
import pytest  # noqa: E402

from rhel.allocator import ENVIRONMENT_VARIABLE  # noqa: E402


@pytest.fixture(autouse=True)
def default_allocator(monkeypatch):
    """Leave glibc's allocator as it is in the test processes: ``rhel train`` called in-process would
    otherwise set up :func:`rhel.retain_freed_memory` for the rest of a pytest worker's life. Tests of
    the setting itself set ``RHEL_RETAIN_FREED_MEMORY=1`` for the processes they start."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "0")


@pytest.fixture
def x64():
    """Run a test in float64 (exactness tests); restore the previous setting afterwards."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)
