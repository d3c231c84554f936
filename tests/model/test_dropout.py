"""Dropout masks: 16 random bits per entry, two entries per generator word, the configured rate."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from rhel.model.block import apply_dropout, dropout_mask, keep_probability


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.9])
def test_masks_keep_entries_at_the_rate_independently(rate):
    shape = (4, 1001, 63)  # an odd number of entries: the last word's second half is unused
    keep = np.asarray(dropout_mask(rate, jr.key(0), shape, inference=False))
    assert keep.shape == shape and keep.dtype == np.bool_
    n = keep.size
    p = keep_probability(rate)
    assert abs(p - (1 - rate)) < 8e-6
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(keep.mean() - p) < 5 * sigma
    # the two halves of one word decide entries i and i + ⌈n/2⌉: they must be independent, like any
    # two entries (correlation ~ N(0, 1/n/2))
    flat = keep.ravel().astype(np.float64)
    half = (n + 1) // 2
    a, b = flat[: n - half], flat[half:]
    corr = np.corrcoef(a, b)[0, 1]
    assert abs(corr) < 5 / np.sqrt(len(a))
    # neighbours, too (different words)
    assert abs(np.corrcoef(flat[:-1], flat[1:])[0, 1]) < 5 / np.sqrt(n)


def test_masks_are_a_function_of_the_key():
    shape = (2, 300, 8)
    a = dropout_mask(0.2, jr.key(1), shape, inference=False)
    assert jnp.array_equal(a, dropout_mask(0.2, jr.key(1), shape, inference=False))
    assert not jnp.array_equal(a, dropout_mask(0.2, jr.key(2), shape, inference=False))
    batched = jax.vmap(lambda k: dropout_mask(0.2, k, shape[1:], inference=False))(jr.split(jr.key(1), 2))
    assert batched.shape == shape and not jnp.array_equal(batched[0], batched[1])


def test_no_mask_in_inference_or_at_rate_zero():
    assert dropout_mask(0.5, jr.key(0), (3,), inference=True) is None
    assert dropout_mask(0.0, jr.key(0), (3,), inference=False) is None
    x = jnp.arange(3.0)
    assert apply_dropout(x, None, 0.5) is x


def test_inverted_dropout_keeps_the_expectation():
    rate = 0.25
    x = jnp.ones((200_000,))
    y = np.asarray(apply_dropout(x, dropout_mask(rate, jr.key(3), x.shape, inference=False), rate))
    p = keep_probability(rate)
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / p], rtol=1e-6)
    assert abs(y.mean() - 1) < 5 * np.sqrt((1 - p) / p / x.size)


def test_a_rate_just_below_one_still_keeps_some_entries():
    assert 0 < keep_probability(1 - 1e-9) <= 2**-16


def test_the_cipher_is_computed_once_per_mask():
    """Each word's two halves come from one expression: XLA fuses the 20 Threefry rounds into one kernel
    (20 rotations in the program), not into one kernel per half (40)."""
    import re

    def masks(keys):  # one per sequence, as the HSSM draws them
        return jax.vmap(lambda k: dropout_mask(0.1, k, (1000, 64), inference=False))(keys)

    program = jax.jit(masks).lower(jr.split(jr.key(0), 4))
    text = program.compile().as_text()
    rotations = sum(c.count("shift-left(") for c in re.split(r"\n\n", text) if not c.startswith("ENTRY"))
    assert 0 < rotations <= 20, f"{rotations} rotations: the cipher is computed more than once"
