"""The linear Hamiltonian Recurrent Unit: a leapfrog LinOSS, run and differentiated by parallel scans.

Physics. K·P independent oscillators (K = 2 for complex weights: the real and the imaginary part of a
complex state; K = 1 for real weights) with the potential

    V(φ; u) = ½ Σ_{κ,i} a_i φ_{κ,i}² − Σ_κ φ_κ · (B_κ u),        a = relu(â) ≥ 0,

i.e. ``½ Σ a_i |φ_i|² − Re(φ̄ᵀ B u)`` for a complex state φ and complex B = B₀ + i B₁, integrated by the
leapfrog with one step per dimension, δ = sigmoid(δ̂) ∈ (0, 1), from the zero state. The readout is
``o_k = Re(C φ_k) + D ⊙ u_k = Σ_κ s_κ C_κ φ_{κ,k} + D ⊙ u_k`` with s = (1, −1).

Scan. With the forcing ``b_k = B u_k`` the leapfrog step of one oscillator is affine in its state,

    [φ]        [1 − δ²a/2    δ(1 − δ²a/4)] [φ]     [δ²/2 b_k]
    [π]_{k+1} = [  −δa          1 − δ²a/2 ] [π]_k + [ δ b_k  ],

so all L states follow from one associative scan over these 2×2 blocks
(:func:`rhel.engine.linear_scan.affine_scan`). The matrix has determinant 1 and trace 2 − δ²a: its
eigenvalues lie on the unit circle (no decay, no forgetting) exactly when δ²a < 4. This parameterisation
does *not* guarantee that; the layer refuses to run outside it (an :class:`rhel.errors.RHELError` at
once for concrete parameters, a run-time error under ``jit``), since the leapfrog then grows
exponentially.

Gradients. ``gradient=rhel.BPTT()`` differentiates through the scan. ``gradient=rhel.RHEL(...)`` is a
custom VJP whose backward pass is the RHEL echo (Algorithm 1) in the unit-step coordinates of
:mod:`rhel.engine.echo`: both echoes (+ε and −ε, batched on one axis) start from the flipped final state
``(φ_L, −π_L)`` and are driven by the reversed forcing with the momentum nudges ``±(ε/c) δ ⊙ g_k`` folded
into it, through the *same* scan (with the default relative nudge, ε·L in place of ε: the echo is affine
in ε, so only round-off depends on it, and a nudge spread over L steps would sink below float32's). From the half-step positions ``φ±_½`` of the echo step that replays
step k (``φ_½ = φ + (δ/2) π``, taken before the kick) and ``γ_k = (c/2ε)(φ+_½ − φ−_½)``:

    ∂L/∂b_k = γ_k                                   (−∂V/∂b = φ)
    ∂L/∂a   = −Σ_{k,κ} γ_k φ̄_½                      (∂V/∂a = ½φ²; φ±_½² differences factored)
    ∂L/∂δ   = Σ_{k,κ} [−γ_k (2a φ̄_½ − b_k) + g_{k+1} φ̄_{k+1}] / δ

with φ̄ the mean of the two echoes. The δ formula is the echo of ``Ṽ(q) = V(δ ⊙ q)`` in ``q = φ/δ``
plus the explicit dependence of the outputs ``φ = δ q`` on δ; it involves no kinetic term, so the
"momentum before or after the nudge" ambiguity of the reference code does not arise. The custom VJP
covers the whole layer (:func:`rhel_layer`): the gradients of B and u follow from ``∂L/∂b_k = γ_k``
(contractions over time, never an (L, P, H) tensor), that of C from the echoes' mean positions φ̄_k
(the replayed trajectory), and the sequence is processed in blocks of chunks of at most 128 steps
(the forward pass scans a block's chunks side by side, the echo one chunk after the other), chained
through the state — so the layer stores nothing of length L for its backward pass but its inputs. Those
of â and δ̂ come by autodiff of the elementwise transforms. The echo is affine in ε, so the result
equals BPTT for every ε up to round-off.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jax import lax
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from rhel.argcheck import is_integer
from rhel.engine.echo import _all_finite, check_echo_group, final_state_vjp
from rhel.engine.gradient import RHEL, GradientMethod, check_gradient_method
from rhel.engine.linear_scan import Block2x2, affine_scan, chunked_affine_scan
from rhel.engine.simulate import simulate
from rhel.errors import RHELError
from rhel.units.base import HRU

_UNSTABLE = (
    "LinearHRU is unstable: step² × stiffness = sigmoid(log_step)² × relu(a_hat) must be < 4 for every "
    "state dimension (the leapfrog then keeps its eigenvalues on the unit circle); {detail}. Lower the "
    "learning rate, clip the updates of a_hat, or re-initialise the layer."
)


def leapfrog_block(a: Array, step: Array) -> Block2x2:
    """The leapfrog step of ``½π² + ½aφ²`` with step δ, as the 2×2 matrix acting on ``(φ, π)``."""
    h = step * step * a
    diag = 1 - 0.5 * h
    return Block2x2(diag, step * (1 - 0.25 * h), -step * a, diag)


def _drive(step: Array, forcing: Array) -> tuple[Array, Array]:
    """The affine part ``(δ²/2 b_k, δ b_k)`` of the leapfrog step for the forces ``b_k``."""
    return 0.5 * step * step * forcing, step * forcing


def _states(a, step, forcing, initial=None):
    """Positions and momenta after each leapfrog step driven by the forces ``forcing`` (L, ...)."""
    return affine_scan(leapfrog_block(a, step), _drive(step, forcing), initial)


def _signs(C: Array) -> Array:
    """``(1, −1)`` for complex weights (``Re(C φ) = C₀φ₀ − C₁φ₁``), ``(1,)`` for real ones; built where it
    is used, so that no constant is captured by the custom VJP."""
    return jnp.array([1.0, -1.0][: C.shape[0]], C.dtype)


def _forcing(B: Float[Array, "K P H"], u: Float[Array, "*L H"]) -> Float[Array, "*L K P"]:
    """The oscillators' forcing ``b_k = B u_k`` for every step."""
    return jnp.einsum("kph,...h->...kp", B, u)


def _readout(
    phis: Float[Array, "L K P"], C: Float[Array, "K H P"], D: Float[Array, " H"], u: Float[Array, "L H"]
) -> Float[Array, "L H"]:
    """``o_k = Re(C φ_k) + D ⊙ u_k = Σ_κ s_κ C_κ φ_{κ,k} + D ⊙ u_k``."""
    return jnp.einsum("lkp,khp,k->lh", phis, C, _signs(C)) + D * u


_CHUNK = 128  # the longest stretch of steps one parallel scan of the RHEL layer covers (see rhel_layer)
_BLOCK_ELEMENTS = 2**17  # steps × K × P of one block of the RHEL layer (per sequence; see rhel_layer)


class _Layout(NamedTuple):
    """How :func:`rhel_layer` cuts L steps: ``blocks`` × ``chunks`` × ``size`` steps, ``pad`` of them
    zero steps added in front (from rest, they leave the oscillators at rest)."""

    blocks: int
    chunks: int
    size: int
    pad: int

    @classmethod
    def of(cls, length: int, width: int) -> _Layout:
        """Blocks of about ``_BLOCK_ELEMENTS / width`` steps (at least one chunk), chunks of at most
        ``_CHUNK`` steps, for a state of ``width`` = K·P numbers per step."""
        blocks = -(-length // max(_CHUNK, _BLOCK_ELEMENTS // width))
        per_block = -(-length // blocks)
        chunks = -(-per_block // _CHUNK)
        size = -(-per_block // chunks)
        return cls(blocks, chunks, size, blocks * chunks * size - length)

    def split(self, x: Array) -> Array:
        """``x`` (L, ...) padded in front, as (blocks, chunks, size, ...)."""
        if self.pad:
            x = jnp.concatenate([jnp.zeros((self.pad,) + x.shape[1:], x.dtype), x])
        return x.reshape((self.blocks, self.chunks, self.size) + x.shape[1:])

    def merge(self, x: Array, lead: int) -> Array:
        """The inverse of :meth:`split` for an array whose first ``lead`` axes index the steps in order
        (e.g. 2 for (blocks, chunks · size, ...)): (L, ...), padding dropped."""
        return x.reshape((-1,) + x.shape[lead:])[self.pad :]


def rhel_layer(
    method: RHEL,
    a: Float[Array, " P"],
    step: Float[Array, " P"],
    B: Float[Array, "K P H"],
    C: Float[Array, "K H P"],
    D: Float[Array, " H"],
    u: Float[Array, "L H"],
) -> Float[Array, "L H"]:
    """The whole linear layer ``u ↦ o`` as one RHEL custom VJP (forcing, oscillators and readout).

    The sequence is cut into blocks of about ``_BLOCK_ELEMENTS / (K·P)`` steps, each cut into chunks of at
    most ``_CHUNK`` steps (:class:`_Layout`; zero steps are added at the start). The forward pass takes
    one block at a time: the forcing ``B u`` of the whole block (one matrix product), the states of all
    its chunks side by side (:func:`rhel.engine.linear_scan.chunked_affine_scan`), the readout of the
    block (one product); it stores only the inputs and the final state. The echo replays the blocks and
    their chunks in reverse order, each chunk by one parallel scan of both echoes from the state the
    previous one left, and reduces each block into the gradients (module docstring):

        ∂L/∂a, ∂L/∂δ          from γ_k and the echoes' mean half-step positions,
        ∂L/∂B = Σ_k γ_k u_kᵀ,  ∂L/∂u_k = Bᵀγ_k + D ⊙ do_k,
        ∂L/∂C = Σ_k do_k φ̄_kᵀ  with φ̄_k the echoes' replay of the forward positions,

    where ``do_k`` is the output cotangent and ``g_k = ∂L/∂φ_k = Re(C)ᵀ do_k`` the nudge. Beyond the
    inputs, the outputs, their cotangents and the nudges g_k (whose norms set the nudge's scale before the
    echo starts), nothing of length L is held: the echo's own arrays (forcing, γ, φ̄) span one block, so
    its memory does not grow with the sequence, and autodiff of the forcing and the readout (which would
    keep ``B u`` and φ_1 … φ_L, two (L, K, P) arrays per layer, until the backward pass) is not needed.

    Why two levels (2-core CPU): short chunks keep each scan's working set in cache (gradient of one
    layer, batch 32, P = 256, L = 896, median of 9 — chunks of 128 steps: 452 ms and 134 MB of
    temporaries, 512: 703 ms / 378 MB, one chunk: 943 ms / 805 MB; BPTT: 430 ms / 418 MB), while the
    matrix products of a chunk are too small to be efficient on their own. Gradient of one layer, batch
    4, P = 16 (K·P = 32), interleaved medians of 40 / 30 rounds, L = 4,000 / 8,000: products per chunk
    19.4 / 50.0 ms; blocks of 2¹⁶ / K·P steps 16.7 / 43.7 ms, 2¹⁷: 14.9 / 46.3 ms, 2¹⁹: – / 45.7 ms;
    BPTT 13.4 / 37.7 ms. In the whole training step (docs/performance.md, finding 17) 2¹⁷ is the best at
    L = 4,000 and at the SCP1 shape (K·P = 512: blocks of 256 steps, two chunks each) and level with the
    others at 8,000 and 18,000.

    Why the forward pass scans a block's chunks side by side and the echo does not (finding 27): one
    chunk after the other costs ~26 small kernels per chunk in the forward pass and ~39 in the echo.
    Side by side, the forward pass of one layer (batch 4, L = 4,000) took 0.79 of the time and its
    gradient 0.93, but with the echo side by side too the gradient took 1.01 (likely, not verified:
    the echo's reductions then read block-sized arrays, where one chunk at a time stays in cache).
    """
    layout = _Layout.of(u.shape[0], C.shape[0] * C.shape[2])
    dtype = u.dtype

    def steps(x):  # (chunks, size, ...) → (chunks · size, ...): one block's steps in a row
        return x.reshape((-1,) + x.shape[2:])

    def forward(a, step, B, C, D, u):
        def block(state, u_b):
            drive = _drive(step, _forcing(B, u_b))
            phis, pis = chunked_affine_scan(leapfrog_block(a, step), drive, state)
            return (phis[-1, -1], pis[-1, -1]), _readout(steps(phis), C, D, steps(u_b))

        zero = jnp.zeros_like(C[:, 0, :])  # (K, P)
        final, out = lax.scan(block, (zero, zero), layout.split(u))
        return layout.merge(out, 2), final

    def backward(args, final, do):
        a, step, B, C, D, u = args
        phiL, piL = final
        do = do.astype(dtype)
        block_matrix = leapfrog_block(a, step)
        sg = _signs(C)
        g = jnp.einsum("lh,khp,k->lkp", do, C, sg)  # the nudges' direction g_k = Re(C)ᵀ do_k
        scale = method.nudge_scale(g, step, weight=step)
        # The echo is affine in ε, so ε sets only how large the echoes' difference is against round-off.
        # The relative nudge spends ε over the whole sequence, which at L = 18,000 leaves a difference
        # below float32's round-off in the replay (float32 errors of 35-240 % on â and δ̂, against BPTT's
        # 0.3 %); here it nudges by ε per step on average, ε·L in total (docs/performance.md, finding 18).
        epsilon = method.epsilon * (u.shape[0] if method.nudge == "relative" else 1)
        kick = epsilon / scale
        sign = jnp.array([1.0, -1.0], dtype)[:, None, None]  # the ±ε echoes: axis 1 of (L, 2, K, P)

        def replay(x):  # (L, ...) → (blocks, chunks, size, ...) in the echo's order
            return layout.split(x)[::-1, ::-1, ::-1]

        g_rev = replay(g)
        # the first nudge of the chunk that follows each chunk in the echo's order (zero after the last)
        firsts = g_rev[:, :, 0]
        flat = firsts.reshape((-1,) + g.shape[1:])
        next_first = jnp.concatenate([flat[1:], jnp.zeros_like(flat[:1])]).reshape(firsts.shape)
        valid = replay(jnp.ones(u.shape[:1], bool))[..., None, None]  # False on the padding

        def chunk(carry, xs):
            (phi2, pi2, prev_mean), (grad_a, pot) = carry
            force, g_c, g_next, valid_c = xs
            # the echo step j starts after the nudge of its own cotangent (added by the previous step);
            # the next step's nudge is part of this step's forcing on the momentum
            after = kick * step * jnp.concatenate([g_c[1:], g_next[None]])
            drift, kick_force = _drive(step, force[:, None])  # the same forces for both echoes
            phis, pis = affine_scan(block_matrix, (drift, kick_force + sign * after[:, None]), (phi2, pi2))
            # half-step position of step j: drift back from the state after it with the momentum of
            # the kick, φ_½ = φ' − (δ/2)(π' − (±after_j)); the echoes enter by their mean and difference
            phi_sum = phis[:, 0] + phis[:, 1]
            half_mean = 0.5 * (phi_sum - 0.5 * step * (pis[:, 0] + pis[:, 1]))
            half_diff = phis[:, 0] - phis[:, 1] - 0.5 * step * (pis[:, 0] - pis[:, 1] - 2 * after)
            gamma = jnp.where(valid_c, (scale / (2 * epsilon)) * half_diff, 0)
            mean = 0.5 * phi_sum  # φ̄ after each step = the forward position before the step it replays
            grad_a = grad_a - jnp.sum(gamma * half_mean, axis=(0, 1))
            pot = pot - jnp.sum(gamma * (2 * a * half_mean - force), axis=(0, 1))
            positions = jnp.concatenate([prev_mean[None], mean[:-1]])  # φ̄_k for the outputs of chunk
            return ((phis[-1], pis[-1], mean[-1]), (grad_a, pot)), (gamma, positions)

        def block(carry, xs):
            state, (grad_a, pot, explicit, grad_B, grad_C) = carry
            u_b, do_b, g_b, next_b, valid_b = xs
            (state, (grad_a, pot)), (gamma, positions) = lax.scan(
                chunk, (state, (grad_a, pot)), (_forcing(B, u_b), g_b, next_b, valid_b)
            )
            gamma, positions, u_b, do_b, g_b = map(steps, (gamma, positions, u_b, do_b, g_b))
            acc = (
                grad_a,
                pot,
                # the outputs' explicit dependence on δ: Σ_k g_k φ̄_k over the forward positions
                explicit + jnp.sum(g_b * positions, axis=(0, 1)),
                grad_B + jnp.einsum("lkp,lh->kph", gamma, u_b),
                grad_C + jnp.einsum("lh,lkp,k->khp", do_b, positions, sg),
            )
            return (state, acc), jnp.einsum("kph,lkp->lh", B, gamma)

        start = (jnp.stack([phiL, phiL]), -piL + sign * (kick * step * g_rev[0, 0, 0]), phiL)
        acc0 = (jnp.zeros_like(a),) * 3 + (jnp.zeros_like(B), jnp.zeros_like(C))
        (end, (grad_a, pot, explicit, grad_B, grad_C)), grad_u = lax.scan(
            block, (start, acc0), (replay(u), replay(do), g_rev, next_first, valid)
        )
        grad_u = layout.merge(grad_u[::-1, ::-1], 2) + D * do
        params = (grad_a, (pot + explicit) / step, grad_B, grad_C, jnp.sum(do * u, axis=0))
        if method.check_finite:
            # Two checks, neither reading an (L, ...) array again (docs/performance.md, finding 26):
            # the parameters' gradients, always used together, as one group; the input gradients through
            # the echo's final state, which a divergence on the way leaves non-finite. ∂L/∂D = Σ_k do_k ⊙
            # u_k sums every cotangent against the inputs: a non-finite cotangent makes it non-finite.
            sane = _all_finite((params[-1], phiL, piL))
            params = check_echo_group(params, ~_all_finite(params), sane)
            grad_u = check_echo_group(grad_u, ~_all_finite(end), sane)
        return (*params, grad_u)

    return final_state_vjp(forward, backward)(a, step, B, C, D, u)


def oscillator_positions(
    a: Float[Array, " P"], step: Float[Array, " P"], forcing: Float[Array, "L K P"]
) -> Float[Array, "L K P"]:
    """Positions φ_1 … φ_L of the oscillators ``½π² + ½aφ² − φ b_k`` from rest, by one parallel scan
    (differentiated by autodiff: the layer's BPTT)."""
    return _states(a, step, forcing)[0]


def _check_stable(a: Array, step: Array) -> Array:
    """Refuse ``δ²a ≥ 4`` (RHELError for concrete values, a run-time error under tracing)."""
    product = step * step * a
    if isinstance(product, jax.core.Tracer):
        bad = ~jnp.all(product < 4)
        return eqx.error_if(step, bad, _UNSTABLE.format(detail="found δ²a >= 4 (or NaN)"))
    values = np.asarray(product)
    if not np.all(values < 4):
        worst = int(np.argmax(np.where(np.isnan(values), np.inf, values)))
        detail = f"dimension {worst} has δ²a = {values[worst]:.4g}"
        raise RHELError(_UNSTABLE.format(detail=detail))
    return step


class LinearHRU(HRU):
    """The linear HRU (leapfrog LinOSS, RHEL-SPEC §4): a sequence layer ``(L, H) → (L, H)``.

    Args:
        hidden: the input/output width H.
        state: the number P of oscillators (complex ones when ``complex_weights``).
        key: PRNG key for the initialisation.
        complex_weights: complex B and C (the default; K = 2 real components) or real ones (K = 1).
        dtype: floating dtype of the parameters (default: JAX's default float).

    Initialisation (as the published RHEL code): â ~ U(0, 1), δ̂ ~ U(0, 1) (so δ ∈ (0.5, 0.74) and
    δ²a < 0.6 < 4), every real component of B ~ U(±1/√H), of C ~ U(±1/√P), D ~ N(0, 1).
    """

    a_hat: Float[Array, " P"]
    log_step: Float[Array, " P"]
    B: Float[Array, "K P H"]
    C: Float[Array, "K H P"]
    D: Float[Array, " H"]

    def __init__(
        self,
        hidden: int,
        state: int,
        *,
        key: PRNGKeyArray,
        complex_weights: bool = True,
        dtype=None,
    ):
        for name, value in (("hidden", hidden), ("state", state)):
            if not is_integer(value) or value < 1:
                raise RHELError(f"LinearHRU({name}={value!r}): {name} must be a positive integer.")
        dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise RHELError(f"LinearHRU(dtype={dtype}): dtype must be a real floating dtype.")
        k = 2 if complex_weights else 1
        ka, ks, kb, kc, kd = jr.split(key, 5)
        b_bound = 1 / math.sqrt(hidden)
        c_bound = 1 / math.sqrt(state)
        self.a_hat = jr.uniform(ka, (state,), dtype)
        self.log_step = jr.uniform(ks, (state,), dtype)
        self.B = jr.uniform(kb, (k, state, hidden), dtype, -b_bound, b_bound)
        self.C = jr.uniform(kc, (k, hidden, state), dtype, -c_bound, c_bound)
        self.D = jr.normal(kd, (hidden,), dtype)

    @property
    def complex_weights(self) -> bool:
        return self.B.shape[0] == 2

    def stiffness(self) -> Float[Array, " P"]:
        """``a = relu(â)``."""
        return jax.nn.relu(self.a_hat)

    def step(self) -> Float[Array, " P"]:
        """``δ = sigmoid(δ̂)``."""
        return jax.nn.sigmoid(self.log_step)

    def _check_inputs(self, u) -> Array:
        hidden = self.D.shape[0]
        if not hasattr(u, "shape") or jnp.ndim(u) != 2 or jnp.shape(u)[1] != hidden:
            got = jnp.shape(u) if hasattr(u, "shape") else type(u).__name__
            raise RHELError(
                f"LinearHRU expects inputs of shape (L, {hidden}): one {hidden}-vector per step; got "
                f"{got}. For a batch of sequences use jax.vmap over the layer."
            )
        if jnp.shape(u)[0] < 1:
            raise RHELError("LinearHRU got a sequence of length 0; it needs at least one step.")
        if jnp.iscomplexobj(u):
            raise RHELError(
                "LinearHRU got complex inputs; it takes real ones (its complex weights act on a real input). "
                "Split a complex input into its real and imaginary parts, e.g. "
                "jnp.concatenate([u.real, u.imag], axis=-1), with hidden twice as wide."
            )
        return jnp.asarray(u, jnp.result_type(u, self.D))

    def readout(self, phis: Float[Array, "L K P"], u: Float[Array, "L H"]) -> Float[Array, "L H"]:
        """``o_k = Re(C φ_k) + D ⊙ u_k``: the real part of the complex product is ``C₀φ₀ − C₁φ₁``."""
        return _readout(phis, self.C, self.D, u)

    def __call__(self, u: Float[Array, "L H"], *, gradient: GradientMethod) -> Float[Array, "L H"]:
        """Run the layer over one sequence (parallel scan); differentiable by BPTT or RHEL."""
        gradient = check_gradient_method(gradient)
        u = self._check_inputs(u)
        # every array in the inputs' (promoted) dtype: float32 weights with float64 inputs compute in float64
        a, step, B, C, D = (x.astype(u.dtype) for x in (self.stiffness(), self.step(), self.B, self.C, self.D))
        step = _check_stable(a, step)
        if isinstance(gradient, RHEL):
            return rhel_layer(gradient, a, step, B, C, D, u)
        return _readout(oscillator_positions(a, step, _forcing(B, u)), C, D, u)

    # --- the same layer as a generic-engine system (sequential leapfrog), for cross-checks ---

    def potential(
        self, phi: Float[Array, " KP"], u: Float[Array, " H"], params: tuple[Array, Array]
    ) -> Float[Array, ""]:
        """``V(φ; u) = ½ Σ a φ² − Σ_κ φ_κ · (B_κ u)`` for the flattened state φ (K·P,).

        ``params = (a_hat, B)`` as returned by :meth:`engine_params`.
        """
        a_hat, B = params
        phi = phi.reshape(B.shape[:2])
        return 0.5 * jnp.sum(jax.nn.relu(a_hat) * phi**2) - jnp.sum(phi * (B @ u))

    def engine_params(self) -> tuple[Array, Array]:
        """The parameters of :meth:`potential`."""
        return (self.a_hat, self.B)

    def sequential(
        self, u: Float[Array, "L H"], *, gradient: GradientMethod
    ) -> Float[Array, "L H"]:
        """The same layer computed by :func:`rhel.simulate` (a sequential leapfrog) instead of the scan.

        Slower; it exists to cross-check the parallel scan and its echo against the generic engine.
        """
        u = self._check_inputs(u)
        k, p = self.B.shape[:2]
        step = jnp.tile(_check_stable(self.stiffness(), self.step()), k)
        zeros = jnp.zeros((k * p,), u.dtype)
        phis = simulate(
            self.potential, self.engine_params(), u, (zeros, zeros), dt=step, gradient=gradient
        )
        return self.readout(phis.reshape(-1, k, p), u)


__all__ = ["LinearHRU", "oscillator_positions", "rhel_layer", "leapfrog_block"]
