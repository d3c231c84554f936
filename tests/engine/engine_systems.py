"""Shared systems for the engine tests: random quadratic and nonlinear potentials, and a gradient helper.

Each potential is a fixed module-level function whose randomness lives in ``params``, so jitted
gradient functions compile once per shape and are reused across hypothesis examples.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

import rhel


def quadratic_potential(phi, u, p):
    """V = ½ φᵀ(AᵀA + diag(k))φ − φᵀBu + ½ c‖u‖²: linear dynamics, the echo is affine in ε."""
    K = p["A"].T @ p["A"] + jnp.diag(p["k"])
    return 0.5 * phi @ K @ phi - phi @ (p["B"] @ u) + 0.5 * p["c"] * jnp.sum(u**2)


def nonlinear_potential(phi, u, p):
    """V = ½ Σ k_i φ_i² + Σ_j a_j log cosh((Wφ + Bu + b)_j): a driven, non-chaotic oscillator network."""
    z = p["W"] @ phi + p["B"] @ u + p["b"]
    return 0.5 * jnp.sum(p["k"] * phi**2) + jnp.sum(p["a"] * jnp.log(jnp.cosh(z)))


def make_problem(seed: int, kind: str, P: int, H: int, L: int, per_dim_dt: bool, dtype=None):
    """Random ``(params, inputs, phi0, pi0, dt, target)`` for a potential of the given kind.

    ``dtype=None`` gives JAX's default float (float64 under the ``x64`` fixture).
    """
    rng = np.random.default_rng(seed)
    dtype = dtype or jnp.result_type(float)

    def normal(*shape, scale=1.0):
        return jnp.asarray(scale * rng.standard_normal(shape), dtype)

    if kind == "quadratic":
        params = dict(
            A=normal(P, P, scale=0.5 / np.sqrt(P)),
            k=jnp.asarray(rng.uniform(0.5, 1.5, P), dtype),
            B=normal(P, H, scale=0.7),
            c=jnp.asarray(rng.uniform(0.1, 1.0), dtype),
        )
    else:
        params = dict(
            k=jnp.asarray(rng.uniform(0.5, 1.5, P), dtype),
            W=normal(P, P, scale=0.6 / np.sqrt(P)),
            B=normal(P, H, scale=0.7),
            b=normal(P, scale=0.3),
            a=jnp.asarray(rng.uniform(0.3, 1.0, P), dtype),
        )
    inputs = normal(L, H)
    phi0, pi0 = normal(P, scale=0.5), normal(P, scale=0.5)
    dt = jnp.asarray(rng.uniform(0.05, 0.3, P) if per_dim_dt else rng.uniform(0.05, 0.3), dtype)
    target = normal(L, P, scale=0.5)
    return params, inputs, phi0, pi0, dt, target


POTENTIALS = {"quadratic": quadratic_potential, "nonlinear": nonlinear_potential}


@functools.partial(jax.jit, static_argnames=("kind", "method"))
def all_gradients(params, inputs, phi0, pi0, dt, target, *, kind, method):
    """Gradient of a nonlinear loss of the positions w.r.t. (params, inputs, phi0, pi0, dt).

    ``kind`` names one of :data:`POTENTIALS`, or is a (hashable) potential itself.
    """
    potential = POTENTIALS[kind] if isinstance(kind, str) else kind

    def loss(params, inputs, phi0, pi0, dt):
        phis = rhel.simulate(potential, params, inputs, (phi0, pi0), dt=dt, gradient=method)
        return jnp.mean(jnp.sin(phis - target) ** 2)

    return jax.grad(loss, argnums=(0, 1, 2, 3, 4))(params, inputs, phi0, pi0, dt)


def max_relative_error(got, want) -> float:
    """max over the leaves of ‖got − want‖ / ‖want‖."""
    errors = jax.tree.map(
        lambda a, b: float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b)), got, want
    )
    return max(jax.tree.leaves(errors))
