"""One rule for "a number" in every layer: Python and NumPy numbers pass, bools (Python or NumPy) do not."""

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rhel
from rhel.argcheck import is_integer, is_real
from rhel.data import load
from rhel.data.batching import epoch_batches
from rhel.model import make_hssm
from rhel.units import LinearHRU, PotentialHRU, nonlinear_hru


@pytest.mark.parametrize(
    "value, integer, real",
    [
        (3, True, True), (np.int64(3), True, True), (np.uint8(3), True, True), (-2, True, True),
        (3.0, False, True), (np.float32(3.0), False, True), (float("inf"), False, True),
        (True, False, False), (np.bool_(True), False, False), ("3", False, False), (None, False, False),
        (1 + 0j, False, False), (np.array(3), False, False), (jnp.asarray(3), False, False),
    ],
)
def test_predicates(value, integer, real):
    assert is_integer(value) is integer
    assert is_real(value) is real


def _quadratic(phi, u, params):
    return 0.5 * jnp.sum(phi**2)


# Every constructor or loader that takes a count: a bool is refused with an RHELError naming the argument,
# a NumPy integer gives the same result as the Python integer.
COUNTS = {  # name: (the argument the error names, a function of the count)
    "LinearHRU": ("hidden", lambda n: LinearHRU(hidden=n, state=2, key=jr.key(0)).B.shape),
    "nonlinear_hru": ("hidden", lambda n: nonlinear_hru(n, 2, key=jr.key(0)).drive.B.shape),
    "PotentialHRU": ("hidden", lambda n: PotentialHRU(_quadratic, {}, hidden=n, state=2, key=jr.key(0)).C.shape),
    "make_hssm": ("blocks", lambda n: len(make_hssm("linear", d_in=2, d_out=3, task="classification", hidden=3,
                                                    state_size=2, blocks=n, key=jr.key(0))[0].blocks)),
    "epoch_batches": ("batch_size", lambda n: [b.tolist() for b in epoch_batches(5, n, seed=0, epoch=0)]),
    "load(seed=)": ("seed", lambda n: load("adding", seed=n, length=6, size=3).train.x.tolist()),
}


@pytest.mark.parametrize("where", sorted(COUNTS))
def test_counts_accept_numpy_integers_and_refuse_bools(where):
    argument, make = COUNTS[where]
    assert make(np.int64(1)) == make(1)
    for flag in (True, np.bool_(True)):
        with pytest.raises(rhel.RHELError, match=argument):
            make(flag)


@pytest.mark.parametrize("name", ["w_min", "alpha"])
def test_nonlinear_reals_are_finite_numbers(name):
    base = nonlinear_hru(3, 2, key=jr.key(0), **{name: 0.5})
    same = nonlinear_hru(3, 2, key=jr.key(0), **{name: np.float32(0.5)})
    assert base.params.w_min == same.params.w_min and jnp.array_equal(base.params.w, same.params.w)
    assert jnp.array_equal(base.params.alpha, same.params.alpha)
    for bad in (True, float("inf"), float("nan"), "0.5", 0.0):
        with pytest.raises(rhel.RHELError, match=name):
            nonlinear_hru(3, 2, key=jr.key(0), **{name: bad})


def test_epsilon_and_dropout_refuse_bools():
    eps = rhel.RHEL(epsilon=np.float64(0.5)).epsilon
    assert eps == 0.5 and type(eps) is float  # a static field: a Python float, not a NumPy scalar
    with pytest.raises(rhel.RHELError, match="epsilon"):
        rhel.RHEL(epsilon=True)
    with pytest.raises(rhel.RHELError, match="dropout"):
        make_hssm("linear", d_in=2, d_out=3, task="classification", hidden=3, state_size=2, blocks=1,
                  dropout=False, key=jr.key(0))


def test_synthetic_sizes_accept_numpy_integers_and_refuse_bools():
    numpy_sized = load("adding", seed=0, length=np.int64(6), size=np.int32(3)).train.x
    assert np.array_equal(numpy_sized, load("adding", seed=0, length=6, size=3).train.x)
    for flag in (True, np.bool_(True)):
        with pytest.raises(rhel.DatasetError, match="length"):
            load("adding", seed=0, length=flag, size=3)
        with pytest.raises(rhel.DatasetError, match="size"):
            load("adding", seed=0, length=6, size=flag)
