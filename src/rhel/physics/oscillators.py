"""Coupled harmonic oscillators with masses: the physical toy of the paper (its Eq. 8).

N point masses ``m_i`` on springs ``k_i`` to the ground, each pair coupled by a spring ``c_ij``, driven
by a force ``F(t)`` on oscillator ``drive``:

    H(x, p) = Σ_i p_i²/(2 m_i) + ½ Σ_i k_i x_i² + ½ Σ_{i<j} c_ij (x_i − x_j)² − F(t) x_drive.

The engine integrates ``½‖π‖² + V(φ)``, whose kinetic energy has unit masses. The canonical change of
coordinates ``φ = √m ⊙ x``, ``π = p / √m`` (a point transformation, so symplectic) brings H to that form:

    H = ½‖π‖² + ½ φᵀ M^{-½} K M^{-½} φ − F(t) φ_drive / √m_drive,      K = diag(k) + Laplacian(c),

so the system runs through :func:`rhel.simulate` unchanged and the physical positions are read back as
``x = φ / √m``. The stiffness matrix ``K`` is positive definite whenever the springs are positive and the
couplings non-negative, which the parameterisation ``k = softplus(k̂)``, ``c = softplus(ĉ)`` guarantees:
the system is then a set of undamped normal modes, stable for a step ``δ < 2/ω_max``.

V is quadratic in φ, so RHEL's echo is affine in ε and its gradient equals BPTT's for any ε in exact
arithmetic, and in float64 to round-off. In float32 (``rhel physics``'s precision) that needs
:meth:`CoupledOscillators.echo_derivatives`, V's echo derivatives in closed form: by autodiff, ∇_θV at
the two echoes differs by O(ε) and the difference cancels, so on the toy (``rhel physics`` at seed 0,
300 steps) the RHEL-vs-BPTT relative difference at the initial θ was 1.4e-6 at ε = 0.1, 9.8e-4 at
ε = 1e-4 and 1.6e-2 at ε = 1e-5; in closed form it is below 1e-6 at every ε from 1 to 1e-5.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from rhel.argcheck import is_integer
from rhel.engine.gradient import BPTT, GradientMethod
from rhel.engine.simulate import simulate
from rhel.errors import RHELError


class OscillatorParams(eqx.Module):
    """The trainable parameters: unconstrained springs and couplings (through a softplus)."""

    springs: Float[Array, " N"]
    """k̂_i, with k_i = softplus(k̂_i) > 0."""
    couplings: Float[Array, " N*(N-1)/2"]
    """ĉ_ij for i < j (row-major upper triangle), with c_ij = softplus(ĉ_ij) ≥ 0."""


class CoupledOscillators(eqx.Module):
    """N coupled oscillators with fixed masses, a force on oscillator ``drive``, read on ``readout``.

    Oscillators are numbered from 0 in code; the paper's "force on oscillator 1, output on oscillator
    4" of six is ``drive=0, readout=3``.
    """

    mass_values: tuple[float, ...] = eqx.field(static=True)
    """The masses, fixed (not trained); static, so that the system (its own ``potential``) is hashable,
    as jit caches and the engine's closure handling require."""
    drive: int = eqx.field(static=True)
    readout: int = eqx.field(static=True)

    def __init__(self, masses, drive: int = 0, readout: int = 3):
        try:
            masses = np.asarray(masses, dtype=float)
        except (TypeError, ValueError) as e:
            raise RHELError(f"masses must be a vector of numbers, got {masses!r} ({e}).") from None
        if masses.ndim != 1 or masses.shape[0] < 2:
            raise RHELError(f"masses must be a vector of at least 2 masses, got shape {masses.shape}.")
        if not np.all(np.isfinite(masses) & (masses > 0)):
            raise RHELError(f"masses must all be finite and > 0, got {masses}.")
        n = masses.shape[0]
        for name, i in (("drive", drive), ("readout", readout)):
            if not (is_integer(i) and 0 <= i < n):
                raise RHELError(f"{name}={i!r} must be an oscillator index in 0..{n - 1} (an integer).")
        self.mass_values = tuple(float(m) for m in masses)
        self.drive = int(drive)
        self.readout = int(readout)

    @property
    def masses(self) -> Float[Array, " N"]:
        return jnp.asarray(self.mass_values)

    @property
    def size(self) -> int:
        return len(self.mass_values)

    def stiffness(self, params: OscillatorParams) -> Float[Array, "N N"]:
        """``K = diag(k) + Σ_{i<j} c_ij (e_i − e_j)(e_i − e_j)ᵀ`` in physical coordinates."""
        n = self.size
        rows, cols = np.triu_indices(n, k=1)
        c = jnp.zeros((n, n), params.couplings.dtype).at[rows, cols].set(jax.nn.softplus(params.couplings))
        c = c + c.T
        return jnp.diag(jax.nn.softplus(params.springs) + c.sum(axis=1)) - c

    def __call__(
        self, phi: Float[Array, " N"], u: Float[Array, " 1"], params: OscillatorParams
    ) -> Float[Array, ""]:
        """V(φ) = ½ φᵀ M^{-½} K M^{-½} φ − F φ_drive / √m_drive, with F = u[0] (mass-scaled φ = √m x)."""
        x = self.to_physical(phi)
        return 0.5 * x @ self.stiffness(params) @ x - u[0] * x[self.drive]

    @property
    def potential(self) -> CoupledOscillators:
        """V as :func:`rhel.simulate` and :func:`rhel.physics.echo_trace` take it: the system itself,
        callable as ``V(phi, u, params)`` and giving the echo its derivatives in closed form."""
        return self

    def echo_derivatives(
        self, phi_pair: Float[Array, "2 N"], u: Float[Array, " 1"], params: OscillatorParams
    ) -> tuple[Float[Array, "2 N"], Float[Array, " 1"], OscillatorParams]:
        """The echo's derivatives of V at the lanes ``φ̄ ± Δ`` (``phi_pair = stack([φ̄, Δ])``), in closed form.

        V is quadratic in x = φ/√m, so with x̄ = φ̄/√m and Δx = Δ/√m: the force pair is
        ``(M^{-½}K x̄ − F e_drive/√m_drive, M^{-½}K Δx)``, the half-difference of ∇_u V is ``−Δx_drive`` and
        that of ∇_θ V is ∇_θ(x̄ᵀ K(θ) Δx). No difference of the two lanes' gradients is formed, so nothing
        cancels (by autodiff, the lanes' ∇_θ V differ in their last digits only when Δ is small).
        """
        mean, half = self.to_physical(phi_pair)
        K = self.stiffness(params)
        drive = jnp.zeros_like(mean).at[self.drive].set(u[0])
        scale = 1 / jnp.sqrt(self.masses)
        dV_dphi = scale * jnp.stack([K @ mean - drive, K @ half])
        dV_du = jnp.zeros_like(u).at[0].set(-half[self.drive])
        dV_dparams = jax.grad(lambda p: mean @ self.stiffness(p) @ half)(params)
        return dV_dphi, dV_du, dV_dparams

    def frequencies(self, params: OscillatorParams) -> Float[Array, " N"]:
        """The normal-mode angular frequencies ω (square roots of the eigenvalues of M^{-½}KM^{-½})."""
        s = 1 / jnp.sqrt(self.masses)
        return jnp.sqrt(jnp.linalg.eigvalsh(s[:, None] * self.stiffness(params) * s[None, :]))

    def to_physical(self, phi: Float[Array, "... N"]) -> Float[Array, "... N"]:
        """Positions x = φ / √m from the engine's coordinates."""
        return phi / jnp.sqrt(self.masses)

    def run(
        self,
        params: OscillatorParams,
        force: Float[Array, " L"],
        *,
        dt: float,
        gradient: GradientMethod = BPTT(),
    ) -> Float[Array, "L N"]:
        """Physical positions x_1 … x_L from rest under the force sequence, by :func:`rhel.simulate`."""
        zeros = jnp.zeros(self.size, force.dtype)
        phis = simulate(self, params, force[:, None], (zeros, zeros), dt=dt, gradient=gradient)
        return self.to_physical(phis)


def random_params(key: PRNGKeyArray, size: int, *, scale: float = 1.0) -> OscillatorParams:
    """Springs around softplus(0.5·scale) and couplings around softplus(−0.5), with some spread."""
    k1, k2 = jax.random.split(key)
    springs = 0.5 * scale + 0.5 * jax.random.normal(k1, (size,))
    couplings = -0.5 + 0.5 * jax.random.normal(k2, (size * (size - 1) // 2,))
    return OscillatorParams(springs, couplings)
