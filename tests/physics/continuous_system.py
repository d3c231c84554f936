"""A small nonlinear driven Hamiltonian system and its continuous adjoint, solved with Diffrax.

(Shared by the tests of tests/physics; a module of its own so that its name cannot clash.)

The reference is the continuous adjoint state method: the forward ODE dΦ/dt = f(Φ, θ, t) with
f = (π, −∇_φV(φ; θ, u(t))) is solved to t = T with a 5th-order adaptive solver at tolerance 1e-10, then
the augmented system (Φ, λ, G) is integrated backwards from (Φ(T), 0, 0) to 0:

    dλ/dt = −(∂f/∂Φ)ᵀ λ − ∇_Φ ℓ(φ, t),     dG/dt = −(∂f/∂θ)ᵀ λ,

so that λ(t) = ∂/∂Φ(t) ∫_t^T ℓ dt' and G(0) = dL/dθ (the augmented system Diffrax's BacksolveAdjoint
integrates internally; solving it directly gives λ at the sampled times too).
"""

import diffrax
import jax
import jax.numpy as jnp

HORIZON = 4.0
SAMPLE_TIMES = (1.0, 2.0, 3.0)


def inputs_at(t):
    return jnp.array([jnp.sin(1.3 * t) + 0.5 * jnp.cos(0.7 * t)])


def potential(phi, u, p):
    K = jnp.diag(p["k"]) + 0.5 * (p["W"] + p["W"].T)
    return 0.5 * phi @ K @ phi + jnp.sum(p["a"] * jnp.log(jnp.cosh(phi))) - u[0] * (p["b"] @ phi)


def running_loss(phi, t):
    return 0.5 * (phi[1] - 0.3 * jnp.sin(0.9 * t)) ** 2 + 0.05 * jnp.sum(phi**2)


def make_params():
    return dict(
        k=jnp.array([1.0, 1.5, 0.8]),
        W=0.2 * jnp.array([[0.0, 1.0, 0.3], [0.2, 0.0, 0.5], [0.1, 0.4, 0.0]]),
        a=jnp.array([0.5, 0.3, 0.7]),
        b=jnp.array([1.0, 0.2, -0.3]),
    )


def make_state0():
    return jnp.array([0.2, -0.1, 0.3]), jnp.array([0.0, 0.1, -0.2])


def vector_field(t, y, p):
    phi, pi = y
    return pi, -jax.grad(potential)(phi, inputs_at(t), p)


_TOL = dict(stepsize_controller=diffrax.PIDController(rtol=1e-10, atol=1e-10), max_steps=100_000)


def continuous_adjoint(params, state0, sample_times):
    """(λ^φ(t_s), λ^π(t_s)) at ``sample_times`` (descending) and dL/dθ, by the adjoint ODE."""
    fwd = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field), diffrax.Tsit5(), 0.0, HORIZON, 1e-2, state0, args=params, **_TOL
    )
    yT = jax.tree.map(lambda x: x[-1], fwd.ys)

    def augmented(t, z, p):
        y, lam, _ = z
        fy, vjp = jax.vjp(lambda y, p: vector_field(t, y, p), y, p)
        lam_y, lam_p = vjp(lam)
        dl = jax.grad(running_loss)(y[0], t)
        return fy, (-lam_y[0] - dl, -lam_y[1]), jax.tree.map(jnp.negative, lam_p)

    zeros = jax.tree.map(jnp.zeros_like, (state0, params))
    back = diffrax.diffeqsolve(
        diffrax.ODETerm(augmented), diffrax.Tsit5(), HORIZON, 0.0, -1e-2, (yT, *zeros), args=params,
        saveat=diffrax.SaveAt(ts=jnp.asarray(sample_times + (0.0,))), **_TOL,
    )
    _, lam, grads = back.ys
    return (lam[0][:-1], lam[1][:-1]), jax.tree.map(lambda g: g[-1], grads)
