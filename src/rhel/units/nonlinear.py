"""The paper's nonlinear (UnICORNN-like) HRU, as an instance of :class:`rhel.units.potential.PotentialHRU`.

Potential (§4 of the spec), with the drive ``v = B u + b``:

    V(φ; θ, v) = (α/2) ‖φ‖² + Σ_i c_i [log cosh(w_i φ_i + v_i) − log cosh(v_i)] / w_i

whose force is ``−∂V/∂φ = −α φ − c ⊙ tanh(w ⊙ φ + B u + b)``: exactly the spec's dynamics. The drive
is an :class:`rhel.units.drive.AffineDrive` computed for the whole sequence before the recurrence, so
the per-step work of the forward pass, of BPTT and of the echo is elementwise in P. The term
``−log cosh(v_i)/w_i`` does not depend on φ, so it changes neither the trajectory nor the true gradient;
it removes a large φ-independent part from ``∇_θ V`` and ``∇_u V``, which RHEL would otherwise have to
cancel between its two echoes (a float32 catastrophe when δ is small, see the spec's known defects).

Parameterisation (θ = (ŵ, ĉ, α̂) in the potential and (B, b) in the drive, each entering V exactly
once — no double sigmoid):

* ``w = w_min + softplus(ŵ)`` ≥ w_min > 0: kept away from zero, where ``log cosh(·)/w`` and ``∂V/∂w``
  are differences of large terms. A negative w is equivalent to a negative c (log cosh is even), and the
  paper keeps c > 0, so w > 0 loses nothing.
* ``c = sigmoid(ĉ)`` ∈ (0, 1), ``α = softplus(α̂)`` ≥ 0 (a scalar restoring stiffness), ``B`` ∈ R^{P×H},
  ``b`` ∈ R^P.

The derivatives of the bracket are supplied in closed form (a ``jax.custom_jvp``) and evaluated without
cancellation: ``∂/∂φ = tanh(wφ + v)`` (so BPTT's second derivatives are those of a plain tanh),
``∂/∂v = [tanh(wφ + v) − tanh(v)]/w = tanh(wφ) [1 − tanh(wφ + v) tanh(v)] / w`` (an exact identity,
free of cancellation for small wφ), and the bracket itself as ``log1p`` of a cancellation-free argument
for small ``s = wφ`` (see :func:`_bracket_parts`); these serve the forward pass and BPTT. The RHEL echo
needs the *differences* of ``∇_θ V`` and ``∇_v V`` between its two lanes (``∂V/∂c`` is the bracket itself),
which :meth:`NonlinearPotential.echo_derivatives` gives in closed form from the lanes' mean and
half-difference (the coordinates the echo stores them in) — fewer transcendental functions than two
autodiff evaluations, and no cancellation.

Step size δ: per dimension, **trained by default** (``δ = sigmoid(δ̂)``, like the linear HRU). The engine
gives δ an exact gradient for both methods (the reference code gave it none under RHEL, so it fixed δ =
1e-4); pass ``train_dt=False`` to fix it for both methods, e.g. ``dt=1e-4`` for the paper's setting.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from rhel.argcheck import positive_integer, positive_real
from rhel.errors import RHELError
from rhel.units.drive import AffineDrive
from rhel.units.potential import PotentialHRU

_NEAR = 1.0  # |wφ| below which the bracket is log1p of its cancellation-free argument
_CLAMP = 20.0  # tanh(20) = 1 − 8.5e-18: e = expm1(|wφ|) is clamped there to stay finite


def _bracket_parts(phi, w, v):
    """``(K, tanh(wφ + v), tanh(wφ + v) − tanh v)`` of :func:`logcosh_bracket`, with few transcendentals.

    The bracket is even in ``(s, v) → (−s, −v)`` (``s = wφ``), so it is evaluated at ``s' = |s| ≥ 0``,
    ``v' = sign(s) v``, where ``e = expm1(s') ≥ 0`` never loses precision. With ``τ = tanh v'`` and
    ``q = 1 + τ``:

    * ``|s'| < 1``: ``log cosh(v'+s') − log cosh v' = log1p(X)``, ``X = cosh s' − 1 + τ sinh s'
      = e (e q + 2τ) / (2(e + 1))``, exact to relative precision for small s (the regime of a small
      step, where RHEL differences two nearly equal echoes);
    * otherwise ``s' + softplus(−2(v' + s')) − softplus(−2v')`` (exact; no cancellation for s' ≥ 1);
    * ``tanh s' = e(e + 2) / (e(e + 2) + 2)``, and the shift ``tanh(v + s) − tanh v = tanh s (1 − tanh(v+s)
      tanh v)`` without cancellation.

    ``τ``, ``1 ± |tanh v|`` and ``softplus(−2|v|)`` depend on v alone, which the two echoes share. Per
    element and echo this costs ``expm1``, two ``log1p``, one ``exp`` and the force's ``tanh``.
    """
    s = w * phi
    neg = s < 0
    sp = jnp.abs(s)
    vp = jnp.where(neg, -v, v)
    av = jnp.abs(v)
    a = jnp.exp(-2 * av)
    tv_abs = -jnp.expm1(-2 * av) / (1 + a)  # |tanh v|, accurate for small v
    pos = vp >= 0
    q = jnp.where(pos, 1 + tv_abs, 2 * a / (1 + a))  # 1 + tanh v', accurate for large |v| too
    tau = jnp.where(pos, tv_abs, -tv_abs)  # tanh v'
    softplus_v = jnp.log1p(a) + jnp.where(pos, 0.0, 2 * av)  # softplus(−2v')
    e = jnp.expm1(jnp.minimum(sp, _CLAMP))
    near = jnp.log1p(e * (e * q + 2 * tau) / (2 * (e + 1)))
    far = sp + jax.nn.softplus(-2 * (vp + sp)) - softplus_v
    k = jnp.where(sp < _NEAR, near, far) / w
    t = jnp.tanh(s + v)
    ee = e * (e + 2)
    tanh_s = jnp.where(neg, -1.0, 1.0) * ee / (ee + 2)
    shift = tanh_s * (1 - t * jnp.where(v < 0, -tv_abs, tv_abs))
    return k, t, shift


@jax.custom_jvp
def logcosh_bracket(phi, w, v):
    """``K(φ, w, v) = [log cosh(w φ + v) − log cosh(v)] / w``, elementwise, without cancellation."""
    return _bracket_parts(phi, w, v)[0]


@logcosh_bracket.defjvp
def _logcosh_bracket_jvp(primals, tangents):
    phi, w, v = primals
    dphi, dw, dv = tangents
    k, t, shift = _bracket_parts(phi, w, v)
    dk = t * dphi + (shift / w) * dv + ((phi * t - k) / w) * dw
    return k, dk


class NonlinearParams(eqx.Module):
    """Unconstrained parameters of the nonlinear potential (see the module docstring); ``B`` and ``b``
    belong to the unit's drive."""

    w_raw: Float[Array, " P"]
    c_raw: Float[Array, " P"]
    alpha_raw: Float[Array, ""]
    w_min: float = eqx.field(static=True, default=0.1)

    @property
    def w(self):
        return self.w_min + jax.nn.softplus(self.w_raw)

    @property
    def c(self):
        return jax.nn.sigmoid(self.c_raw)

    @property
    def alpha(self):
        return jax.nn.softplus(self.alpha_raw)


def _tanh_pair(m, d):
    """Mean and half-difference of ``tanh`` at ``m ± d``, and the half-difference of ``log cosh``, without
    cancellation.

    With ``T = tanh m``, ``D = tanh d``, and ``E_z = exp(−2|z|)``, ``F_z = 1 − E_z``,
    ``tanh |z| = F_z/(1 + E_z)`` and ``1 − tanh² z = 4E_z/(1 + E_z)²``; all three
    follow from the addition theorems, and each is a product or a ratio of positive terms:

    * ``[tanh(m+d) − tanh(m−d)]/2 = D(1 − T²)/(1 − T²D²) = sgn(d) F_d E_m (1 + E_d) / den``,
    * ``[tanh(m+d) + tanh(m−d)]/2 = T(1 − D²)/(1 − T²D²) = sgn(m) F_m E_d (1 + E_m) / den``,
    * ``[log cosh(m+d) − log cosh(m−d)]/2 = ½ log((1 + TD)/(1 − TD)) = ½ sgn(m d) log1p(F_m F_d / (E_m + E_d))``,

    with ``den = (E_m + E_d)(1 + E_m E_d)``. Precision: ``E_m`` and ``E_d`` come from ``exp`` (relative
    precision when tiny: with ``E_d = 1 − F_d`` a large |d| beside a larger |m| gave wrong differences),
    ``F_d`` from ``expm1`` (relative precision for the small d of nearby echoes), and ``F_m = 1 − E_m``
    (whose rounding for small |m| is an absolute error of order eps in the force and ``eps·|d|`` in the
    log-cosh difference: the size of their own rounding). Stacking m and d to share the exponentials
    made the echo slower (a concatenation and slices in its loop body). |z| is clamped where
    ``exp(4|z|)`` would overflow (|z| ≈ 40 in float32), so that ``1/(E_m + E_d)`` stays finite.
    """
    zmax = 0.45 * float(np.log(np.finfo(jnp.result_type(m)).max))
    am, ad = 2 * jnp.minimum(jnp.abs(m), zmax), 2 * jnp.minimum(jnp.abs(d), zmax)
    em, ed, fd = jnp.exp(-am), jnp.exp(-ad), -jnp.expm1(-ad)
    fm = 1 - em
    sm, sd = jnp.sign(m), jnp.sign(d)
    sum_e = em + ed
    den = sum_e * (1 + em * ed)
    t_half = sd * fd * em * (1 + ed) / den
    t_mean = sm * fm * ed * (1 + em) / den
    lc_half = 0.5 * sm * sd * jnp.log1p(fm * fd / sum_e)
    return t_mean, t_half, lc_half


class NonlinearPotential(eqx.Module):
    """``V(φ; θ, v) = (α/2)‖φ‖² + Σ_i c_i [log cosh(w_i φ_i + v_i) − log cosh(v_i)]/w_i`` (``v = B u + b``).

    Called as ``V(phi, v, params)`` (:data:`nonlinear_potential`). It also gives the RHEL echo its
    derivatives in closed form (:class:`rhel.engine.pair.EchoDerivatives`). The echo passes its two lanes
    as their mean and half-difference ``φ̄ = (φ+ + φ−)/2``, ``Δ = (φ+ − φ−)/2``; with ``m = wφ̄ + v`` and
    ``d = wΔ`` (so that ``wφ± + v = m ± d``) every quantity the echo needs is a function of ``(m, d)``
    (:func:`_tanh_pair`). Writing ``Δ[f] = (f(φ+) − f(φ−))/2`` for a half-difference (so ``Δ = Δ[φ]``),
    ``T̄`` and ``ΔT`` for the mean and half-difference of ``tanh(m ± d)``:

    * forces in pair coordinates: ``αφ̄ + c T̄`` and ``αΔ + c ΔT``;
    * ``Δ[∂V/∂v] = c ΔT / w`` and ``Δ[∂V/∂c] = ΔK = [log cosh(m+d) − log cosh(m−d)] / 2w`` (the
      ``log cosh v`` of the bracket cancels);
    * ``Δ[∂V/∂w] = c (Δ[φ tanh] − ΔK) / w`` with ``Δ[φ tanh] = φ̄ ΔT + Δ T̄``; ``Δ[∂V/∂α] = Σ φ̄ Δ``.

    Autodiff would evaluate the bracket (an ``expm1``, two ``log1p``, an ``exp``) and a ``tanh`` per lane
    and subtract; this costs three exponentials and one ``log1p`` for both lanes, and the differences are
    free of cancellation. ``rhel.engine.checks.echo_derivatives_error`` checks it against autodiff.
    """

    def __call__(
        self, phi: Float[Array, " P"], v: Float[Array, " P"], params: NonlinearParams
    ) -> Float[Array, ""]:
        return 0.5 * params.alpha * jnp.sum(phi**2) + jnp.sum(
            params.c * logcosh_bracket(phi, params.w, v)
        )

    def echo_derivatives(
        self, phi_pair: Float[Array, "2 P"], v: Float[Array, " P"], params: NonlinearParams
    ) -> tuple[Float[Array, "2 P"], Float[Array, " P"], NonlinearParams]:
        """Forces and the half-differences of ``∇_v V`` and ``∇_θ V`` in pair coordinates (see the class)."""
        (w, c, alpha), to_raw = jax.vjp(lambda p: (p.w, p.c, p.alpha), params)
        mean, half = phi_pair[0], phi_pair[1]
        t_mean, t_half, lc_half = _tanh_pair(w * mean + v, w * half)
        dV_dphi = alpha * phi_pair + c * jnp.stack([t_mean, t_half])
        dk = lc_half / w
        d_w = c * (mean * t_half + half * t_mean - dk) / w
        d_alpha = jnp.sum(mean * half)
        # in the parameters' dtypes (the pair may be wider, e.g. float64 inputs to a float32 unit)
        (d_params,) = to_raw(tuple(g.astype(p.dtype) for g, p in zip((d_w, dk, d_alpha), (w, c, alpha))))
        return dV_dphi, c * t_half / w, d_params


nonlinear_potential = NonlinearPotential()
"""The nonlinear HRU's potential ``V(phi, v, params)`` (a :class:`NonlinearPotential`)."""


def _inv_softplus(y):
    return np.log(np.expm1(y))


def nonlinear_hru(
    hidden: int,
    state: int,
    *,
    key: PRNGKeyArray,
    dt: float | Float[Array, " P"] | None = None,
    train_dt: bool = True,
    dt_range: tuple[float, float] = (0.01, 0.1),
    alpha: float = 1.0,
    w_min: float = 0.1,
    dtype=None,
) -> PotentialHRU:
    """The nonlinear HRU: a :class:`PotentialHRU` of :func:`nonlinear_potential`.

    Args:
        hidden: H, width of the input and the output.
        state: P, number of oscillators.
        key: PRNG key.
        dt: the initial step (scalar or (P,)); default: log-uniform per dimension in ``dt_range``.
        train_dt: train δ (default) or fix it; either way both gradient methods treat it the same.
        dt_range: range of the default per-dimension initial δ.
        alpha: initial stiffness α > 0.
        w_min: lower bound of w (> 0).
        dtype: floating dtype of the parameters.

    Initialisation: w − w_min ~ U(0.1, 1) (UnICORNN draws w ~ U(0, 1)), b ~ U(−1, 1), c = sigmoid(ĉ) with
    ĉ ~ U(−1, 1), B ~ U(±1/√H) (in the unit's :class:`~rhel.units.drive.AffineDrive`).
    """
    positive_real("w_min", w_min, " (keeps w away from zero)")
    positive_real("alpha", alpha, " (the restoring stiffness)")
    positive_integer("hidden", hidden)
    positive_integer("state", state)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise RHELError(f"nonlinear_hru(dtype={dtype}): dtype must be a real floating dtype.")
    kw, kc, kdrive, kdt, kunit = jr.split(key, 5)
    if dt is None:
        lo, hi = dt_range
        if not 0 < lo <= hi < 1:
            raise RHELError(f"dt_range must satisfy 0 < low <= high < 1; got {dt_range!r}.")
        dt = np.exp(np.asarray(jr.uniform(kdt, (state,), minval=np.log(lo), maxval=np.log(hi))))
    params = NonlinearParams(
        w_raw=jnp.asarray(_inv_softplus(np.asarray(jr.uniform(kw, (state,), minval=0.1, maxval=1.0))), dtype),
        c_raw=jr.uniform(kc, (state,), dtype, -1.0, 1.0),
        alpha_raw=jnp.asarray(_inv_softplus(alpha), dtype),
        w_min=float(w_min),
    )
    return PotentialHRU(
        nonlinear_potential,
        params,
        hidden=hidden,
        state=state,
        key=kunit,
        dt=dt,
        train_dt=train_dt,
        dtype=dtype,
        drive=AffineDrive.uniform(hidden, state, key=kdrive, dtype=dtype),
    )


__all__ = ["NonlinearParams", "NonlinearPotential", "nonlinear_potential", "nonlinear_hru", "logcosh_bracket"]
