"""rhel.model.threefry: the unrolled Threefry-2x32 gives exactly jax.random.bits' words."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from rhel.model import threefry


def _reference(key, n):
    return jr.bits(key, (n,), jnp.uint32)


@pytest.mark.parametrize("n", [1, 2, 77, 100_003])
@pytest.mark.parametrize("make_key", [jr.key, jr.PRNGKey], ids=["typed key", "raw uint32 key"])
def test_bit_for_bit_jax_random_bits(n, make_key):
    for seed in (0, 12345, 2**31 - 1):
        key = make_key(seed)
        words = threefry.bits(key, n)
        assert words.shape == (n,) and words.dtype == jnp.uint32
        np.testing.assert_array_equal(words, _reference(key, n))
        np.testing.assert_array_equal(jax.jit(threefry.bits, static_argnums=1)(key, n), words)


def test_bit_for_bit_under_vmap_over_keys():
    keys = jr.split(jr.key(7), 5)
    got = jax.vmap(lambda k: threefry.bits(k, 333))(keys)
    np.testing.assert_array_equal(got, jax.vmap(lambda k: _reference(k, 333))(keys))
    assert len({bytes(np.asarray(row)) for row in got}) == 5  # every key its own words


def test_the_cipher_against_the_published_known_answers():
    """Threefry-2x32, 20 rounds: the known-answer vectors of Random123 (Salmon et al., 2011)."""
    def u(x):
        return jnp.asarray(x, jnp.uint32)

    cases = [
        ((0x0, 0x0), (0x0, 0x0), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
    ]
    for key, count, expected in cases:
        got = threefry.threefry2x32(tuple(map(u, key)), tuple(map(u, count)))
        assert tuple(int(x) for x in got) == expected


def test_other_generators_and_settings_fall_back_to_jax():
    key = jr.key(3, impl="rbg")
    np.testing.assert_array_equal(threefry.bits(key, 50), _reference(key, 50))
    if not hasattr(jax.config, "jax_threefry_partitionable"):
        pytest.skip("a JAX without jax_threefry_partitionable: no older scheme to fall back for")
    previous = jax.config.jax_threefry_partitionable
    try:
        jax.config.update("jax_threefry_partitionable", False)
        key = jr.key(3)
        np.testing.assert_array_equal(threefry.bits(key, 50), _reference(key, 50))
    finally:
        jax.config.update("jax_threefry_partitionable", previous)
