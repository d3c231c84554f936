import jax
import pytest

from rhel.allocator import ENVIRONMENT_VARIABLE


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
