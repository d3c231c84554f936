"""The linear HRU: parallel scan == sequential leapfrog, RHEL echo == BPTT, jit/vmap/float32, refusals."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from jax import lax
from jaxprs import avals, equations

import rhel
from rhel.engine.linear_scan import Block2x2, affine_scan, chunked_affine_scan, powers
from rhel.units import LinearHRU
from rhel.units.linear import leapfrog_block

FIELDS = ("a_hat", "log_step", "B", "C", "D")


def _layer(hidden, state, *, complex_weights=True, dtype=jnp.float64, seed=0):
    """A layer whose oscillators span the whole stable range, including a = 0 (â < 0) and δ²a near 4."""
    layer = LinearHRU(hidden, state, key=jr.key(seed), complex_weights=complex_weights, dtype=dtype)
    a_hat = jnp.linspace(-0.5, 12.0, state, dtype=dtype)
    log_step = jnp.linspace(-2.0, -0.2, state, dtype=dtype)
    step = jax.nn.sigmoid(log_step)
    a_hat = jnp.minimum(a_hat, 3.9 / step**2)  # keep δ²a < 4
    return eqx.tree_at(lambda m: (m.a_hat, m.log_step), layer, (a_hat, log_step))


def _data(shape, seed, dtype=jnp.float64):
    return jr.normal(jr.key(seed), shape, dtype)


L, H, P = 64, 5, 4  # one size for the exactness tests (the forward passes run eagerly share their kernels)


def _loss(layer, u, target, gradient, sequential=False):
    """A loss whose cotangent differs at every step and every channel."""
    run = layer.sequential if sequential else layer
    out = run(u, gradient=gradient)
    return jnp.sum(jnp.sin(out) * target) + 0.5 * jnp.sum(out[-3:] ** 2)


@eqx.filter_jit
def _all_grads(layer, u, target, gradient, sequential=False):
    """Gradients w.r.t. every parameter and the input sequence."""
    g_layer, g_u = eqx.filter_grad(lambda mu: _loss(*mu, target, gradient, sequential))((layer, u))
    return {**{f: getattr(g_layer, f) for f in FIELDS}, "u": g_u}


def _rel(x, ref):
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    return float(np.linalg.norm(x - ref) / np.linalg.norm(ref))


def _cos(x, ref):
    x, ref = np.ravel(np.asarray(x, np.float64)), np.ravel(np.asarray(ref, np.float64))
    return float(x @ ref / (np.linalg.norm(x) * np.linalg.norm(ref)))


# --- the 2×2 associative scan ---


@pytest.mark.parametrize("length", [1, 2, 7, 37])
def test_affine_scan_matches_a_sequential_loop(x64, length):
    S = (3, 2)
    m = _data((*S, 2, 2), 0) * 0.7
    f = _data((length, *S, 2), 1)
    x0 = _data((*S, 2), 2)

    def body(x, fk):
        x = jnp.einsum("...ij,...j->...i", m, x) + fk
        return x, x

    _, expected = lax.scan(body, x0, f)
    block = Block2x2(m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1])
    x1, x2 = affine_scan(block, (f[..., 0], f[..., 1]), (x0[..., 0], x0[..., 1]))
    np.testing.assert_allclose(np.stack([x1, x2], -1), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunks, size", [(1, 1), (1, 9), (5, 1), (7, 13), (4, 16)])
def test_chunked_affine_scan_equals_one_scan(x64, chunks, size):
    """Chunks side by side, chained by Mᴺ and carried by the powers Mʲ: the states of one scan, for a
    stable leapfrog matrix (per oscillator, on a (2, P) state) and for a generic one."""
    a, step = jnp.abs(_data((5,), 0)), 0.5 + 0.2 * jnp.tanh(_data((5,), 1))
    m = _data((2, 5, 2, 2), 2) * 0.5
    generic = Block2x2(m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1])
    for block in (leapfrog_block(a, step), generic):
        f1, f2 = _data((chunks * size, 2, 5), 3), _data((chunks * size, 2, 5), 4)
        x0 = (_data((2, 5), 5), _data((2, 5), 6))
        expected = affine_scan(block, (f1, f2), x0)
        split = lambda x: x.reshape(chunks, size, 2, 5)  # noqa: E731
        got = chunked_affine_scan(block, (split(f1), split(f2)), x0)
        for g, e in zip(got, expected):
            assert g.shape == (chunks, size, 2, 5)
            np.testing.assert_allclose(g.reshape(e.shape), e, rtol=1e-12, atol=1e-12)
            assert float(jnp.max(jnp.abs(e))) > 1.0  # a non-trivial trajectory


def test_powers_are_matrix_powers(x64):
    m = _data((3, 2, 2), 0) * 0.8
    block = Block2x2(m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1])
    got = powers(block, 6, (3,))
    for j in range(1, 7):
        expected = np.linalg.matrix_power(np.asarray(m), j)
        rows = [np.stack([got.m11[j - 1], got.m12[j - 1]], -1), np.stack([got.m21[j - 1], got.m22[j - 1]], -1)]
        entries = np.stack(rows, -2)
        np.testing.assert_allclose(entries, expected, rtol=1e-12, atol=1e-14)


# --- scan == sequential leapfrog of the same layer (forward and gradients) ---


@pytest.mark.parametrize("complex_weights", [True, False])
def test_scan_equals_sequential_leapfrog(x64, complex_weights):
    layer = _layer(H, P, complex_weights=complex_weights)
    u, target = _data((L, H), 1), _data((L, H), 2)
    scan = layer(u, gradient=rhel.BPTT())
    seq = layer.sequential(u, gradient=rhel.BPTT())
    assert _rel(scan, seq) <= 1e-10
    assert float(jnp.max(jnp.abs(seq))) > 1.0  # a non-trivial trajectory
    g_scan = _all_grads(layer, u, target, rhel.BPTT())
    g_seq = _all_grads(layer, u, target, rhel.BPTT(), sequential=True)
    for name in g_seq:
        assert _rel(g_scan[name], g_seq[name]) <= 1e-10, name


# --- RHEL == BPTT (float64) ---


@pytest.mark.parametrize("complex_weights", [True, False])
def test_rhel_equals_bptt_for_every_epsilon(x64, complex_weights):
    """The echo is affine in ε, so the central difference is exact at any ε (both nudge modes)."""
    layer = _layer(H, P, complex_weights=complex_weights, seed=1)
    u, target = _data((L, H), 5), _data((L, H), 6)
    ref = _all_grads(layer, u, target, rhel.BPTT())
    methods = [rhel.RHEL(epsilon=e) for e in (0.01, 0.1, 1.0)]
    for method in methods + [rhel.RHEL(epsilon=0.5, nudge="absolute")]:
        got = _all_grads(layer, u, target, method)
        for name in ref:
            assert float(jnp.linalg.norm(ref[name])) > 0, name
            err = _rel(got[name], ref[name])
            assert err <= 1e-11, (method, name, err)


@pytest.mark.parametrize(
    "chunk, block_elements, layout",
    [
        (10, 2**16, (1, 7, 10, 6)),  # one block of several chunks, padded
        (16, 16 * 2 * P, (4, 1, 16, 0)),  # several blocks of one chunk
        (10, 25 * 2 * P, (3, 3, 8, 8)),  # several blocks of several chunks, padded
        (64, 2**16, (1, 1, 64, 0)),  # one scan
    ],
)
def test_rhel_in_blocks_and_chunks_equals_bptt(x64, monkeypatch, chunk, block_elements, layout):
    """The RHEL layer runs in blocks of chunks of parallel scans chained through the state (with zero
    steps padded in front when they do not divide L): the same outputs and gradients."""
    import rhel.units.linear as linear

    monkeypatch.setattr(linear, "_CHUNK", chunk)
    monkeypatch.setattr(linear, "_BLOCK_ELEMENTS", block_elements)
    assert tuple(linear._Layout.of(L, 2 * P)) == layout
    layer = _layer(H, P, seed=2)
    u, target = _data((L, H), 7), _data((L, H), 8)
    np.testing.assert_allclose(layer(u, gradient=rhel.RHEL()), layer(u, gradient=rhel.BPTT()), rtol=1e-10,
                               atol=1e-12)
    ref = _all_grads(layer, u, target, rhel.BPTT())
    got = _all_grads(layer, u, target, rhel.RHEL(epsilon=0.3))
    for name in ref:
        assert _rel(got[name], ref[name]) <= 1e-11, (chunk, name)


# --- batches, jit, float32 ---


def _batch_loss(layer, u, target, gradient, scale):
    out = jax.vmap(lambda x: layer(x, gradient=gradient))(u)
    return scale * jnp.mean((out - target) ** 2)


_batch_grads = eqx.filter_jit(eqx.filter_grad(_batch_loss))


def test_vmap_jit_batch_rhel_equals_bptt(x64):
    """Under jit and vmap each sequence gets its own echo; the parameter gradients are batch means."""
    layer = _layer(H, P, seed=3)
    u, target = _data((3, L, H), 9), _data((3, L, H), 10)
    ref = _batch_grads(layer, u, target, rhel.BPTT(), 1.0)
    got = _batch_grads(layer, u, target, rhel.RHEL(), 1.0)
    for name in FIELDS:
        assert _rel(getattr(got, name), getattr(ref, name)) <= 1e-11, name


def test_float32_batch_mean_loss_close_to_float64_bptt(x64):
    """At the loss scale of training (batch mean, also × 1e-5) float32 RHEL stays aligned with BPTT."""
    layer64 = LinearHRU(8, 6, key=jr.key(4), dtype=jnp.float64)
    u, target = _data((4, 200, 8), 11), _data((4, 200, 8), 12)
    layer32 = jax.tree.map(lambda x: x.astype(jnp.float32), layer64)
    f32 = jnp.float32
    for scale in (1.0, 1e-5):
        ref = _batch_grads(layer64, u, target, rhel.BPTT(), jnp.float64(scale))
        got = _batch_grads(layer32, u.astype(f32), target.astype(f32), rhel.RHEL(), f32(scale))
        for name in FIELDS:
            assert getattr(got, name).dtype == jnp.float32
            assert _cos(getattr(got, name), getattr(ref, name)) >= 0.999, (scale, name)
            assert _rel(getattr(got, name), getattr(ref, name)) <= 1e-2, (scale, name)


def test_float32_long_sequence_as_accurate_as_bptt(x64):
    """Over thousands of steps the difference of the two echoes must stay large against float32 round-off
    (the echo is affine in ε, so the layer may nudge hard): RHEL's error is BPTT's, not 100 × it."""
    layer64 = LinearHRU(16, 16, key=jr.key(6), dtype=jnp.float64)
    u, target = _data((2, 4000, 16), 14), _data((2, 4000, 16), 15)
    layer32 = jax.tree.map(lambda x: x.astype(jnp.float32), layer64)
    u32, target32 = u.astype(jnp.float32), target.astype(jnp.float32)
    ref = _batch_grads(layer64, u, target, rhel.BPTT(), jnp.float64(1.0))
    bptt = _batch_grads(layer32, u32, target32, rhel.BPTT(), jnp.float32(1.0))
    got = _batch_grads(layer32, u32, target32, rhel.RHEL(), jnp.float32(1.0))
    for name in FIELDS:
        floor = _rel(getattr(bptt, name), getattr(ref, name))
        err = _rel(getattr(got, name), getattr(ref, name))
        assert err <= max(5 * floor, 1e-5), (name, err, floor)


def test_float32_forward_dtype_and_jit():
    layer = LinearHRU(3, 2, key=jr.key(5), dtype=jnp.float32)
    u = _data((20, 3), 13, jnp.float32)
    out = eqx.filter_jit(lambda m, x: m(x, gradient=rhel.RHEL()))(layer, u)
    assert out.shape == (20, 3) and out.dtype == jnp.float32
    np.testing.assert_allclose(out, layer(u, gradient=rhel.BPTT()), rtol=1e-5, atol=1e-5)


def test_float32_weights_with_float64_inputs_compute_in_float64_for_both_methods(x64):
    """The inputs' promoted dtype, as any jnp operation: RHEL's scan carries do not mix the two."""
    layer = LinearHRU(3, 2, key=jr.key(5), dtype=jnp.float32)
    u = _data((20, 3), 13, jnp.float64)

    @eqx.filter_jit
    def output_and_grad(layer, method):
        def loss(m):
            out = m(u, gradient=method)
            return jnp.sum(out**2), out

        return eqx.filter_grad(loss, has_aux=True)(layer)

    grads = {}
    for method in (rhel.RHEL(), rhel.BPTT()):
        grads[type(method).__name__], out = output_and_grad(layer, method)
        assert out.dtype == jnp.float64
    for name in FIELDS:
        got, want = getattr(grads["RHEL"], name), getattr(grads["BPTT"], name)
        assert got.dtype == jnp.float32  # the weights' own dtype
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


# --- memory: no (L, P, H) tensor anywhere in the gradient computation ---


def _shapes(jaxpr):
    for eqn in equations(jaxpr):
        for aval in avals(eqn):
            if getattr(aval, "shape", None) is not None:
                yield aval.shape


def _has_lph(fn, *args, L, P, H):
    shapes = _shapes(jax.make_jaxpr(fn)(*args).jaxpr)
    return any({L, P, H} <= set(s) for s in shapes)


@pytest.mark.parametrize("gradient", [rhel.BPTT(), rhel.RHEL()], ids=["bptt", "rhel"])
def test_no_per_step_L_P_H_tensor(gradient):
    L, P, H = 40, 3, 7
    layer = LinearHRU(H, P, key=jr.key(6))
    u, target = _data((L, H), 14, jnp.float32), _data((L, H), 15, jnp.float32)
    grad = eqx.filter_grad(lambda m, x: _loss(m, x, target, gradient))
    assert not _has_lph(grad, layer, u, L=L, P=P, H=H)

    def naive(m, x):  # the defect of the reference code: per-step outer products, then summed
        return jnp.sum(jnp.einsum("lp,lh->lph", jnp.tanh(x[:, :P]), x), axis=0)

    assert _has_lph(naive, layer, u, L=L, P=P, H=H)


# --- construction and refusals ---


@pytest.mark.parametrize("complex_weights", [True, False])
def test_initialisation(complex_weights):
    layer = LinearHRU(16, 8, key=jr.key(7), complex_weights=complex_weights)
    k = 2 if complex_weights else 1
    assert layer.complex_weights == complex_weights
    assert layer.B.shape == (k, 8, 16) and layer.C.shape == (k, 16, 8) and layer.D.shape == (16,)
    a, step = layer.stiffness(), layer.step()
    assert bool(jnp.all(a >= 0)) and bool(jnp.all((step > 0.5) & (step < 0.75)))
    assert bool(jnp.all(step**2 * a < 4))
    assert float(jnp.max(jnp.abs(layer.B))) <= 1 / 4 and float(jnp.max(jnp.abs(layer.C))) <= 1 / 8**0.5
    assert layer.a_hat.dtype == jnp.result_type(float)


def test_refuses_unstable_step_and_stiffness():
    layer = LinearHRU(3, 2, key=jr.key(8))
    bad = eqx.tree_at(lambda m: m.a_hat, layer, jnp.array([1.0, 50.0]))
    u = jnp.ones((5, 3))
    with pytest.raises(rhel.RHELError, match=r"must be < 4.*dimension 1 has δ²a = 2\d\."):
        bad(u, gradient=rhel.RHEL())
    with pytest.raises(Exception, match="LinearHRU is unstable"):
        eqx.filter_jit(lambda m, x: m(x, gradient=rhel.BPTT()))(bad, u).block_until_ready()
    layer(u, gradient=rhel.BPTT())  # the stable layer runs


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda m: m(jnp.ones((5, 4)), gradient=rhel.BPTT()), r"shape \(L, 3\)"),
        (lambda m: m(jnp.ones((2, 5, 3)), gradient=rhel.BPTT()), "jax.vmap"),
        (lambda m: m(jnp.ones((0, 3)), gradient=rhel.BPTT()), "length 0"),
        (lambda m: m(jnp.ones((5, 3)) * (1 + 1j), gradient=rhel.RHEL()), "complex inputs"),
        (lambda m: m(jnp.ones((5, 3)) * (1 + 1j), gradient=rhel.BPTT()), "complex inputs"),
        (lambda m: m(jnp.ones((5, 3)), gradient="rhel"), "gradient method"),
        (lambda m: LinearHRU(0, 2, key=jr.key(0)), "positive integer"),
        (lambda m: LinearHRU(3, 2, key=jr.key(0), dtype=jnp.int32), "floating"),
    ],
)
def test_bad_input_raises_clear_error(make, match):
    layer = LinearHRU(3, 2, key=jr.key(9))
    with pytest.raises(rhel.RHELError, match=match):
        make(layer)


_ECHO_ERRORS = (eqx.EquinoxRuntimeError, RuntimeError, ValueError)


def _layer_gradient(method, argnums, dtype=jnp.float32, scale=1.0):
    layer = _layer(H, P, dtype=dtype)
    u, target = _data((L, H), 1, dtype), _data((L, H), 2, dtype)

    def loss(layer, u):
        return scale * _loss(layer, u, target, method)

    return eqx.filter_jit(eqx.filter_grad(loss) if argnums == 0 else jax.grad(loss, argnums=argnums)), layer, u


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)], ids=["layer", "inputs", "both"])
def test_a_diverging_echo_is_reported_whichever_gradients_are_asked_for(argnums):
    """The layer's two checks (its parameters as one group, its inputs through the echo's final state):
    a nudge far too strong overflows the echo's difference in float32, which is reported, not returned."""
    grad, layer, u = _layer_gradient(rhel.RHEL(), argnums)
    assert all(jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(eqx.filter(grad(layer, u), eqx.is_array)))
    grad, layer, u = _layer_gradient(rhel.RHEL(epsilon=1e38, nudge="absolute"), argnums)
    with pytest.raises(_ECHO_ERRORS, match="The RHEL echo produced a non-finite gradient"):
        jax.block_until_ready(grad(layer, u))
    unchecked, layer, u = _layer_gradient(rhel.RHEL(epsilon=1e38, nudge="absolute", check_finite=False), argnums)
    leaves = jax.tree.leaves(eqx.filter(unchecked(layer, u), eqx.is_array))
    assert not all(jnp.all(jnp.isfinite(g)) for g in leaves)  # what the check caught


@pytest.mark.parametrize("nudge", ["relative", "absolute"])
def test_a_non_finite_cotangent_is_not_blamed_on_the_echo(nudge):
    """NaN from the loss propagates through the layer's RHEL gradient as through BPTT's, with no error."""
    for method in (rhel.RHEL(nudge=nudge), rhel.BPTT()):
        grad, layer, u = _layer_gradient(method, (0, 1), scale=jnp.nan)
        g_layer, g_u = grad(layer, u)
        assert not jnp.all(jnp.isfinite(g_layer.B)) and not jnp.all(jnp.isfinite(g_u))
