"""A potential's closed-form echo derivatives (``echo_derivatives``): used by the echo, checked by
``rhel.echo_derivatives_error``, and giving the gradients autodiff gives."""

import equinox as eqx
import jax.numpy as jnp
import pytest
from engine_systems import all_gradients, make_problem, max_relative_error, quadratic_potential

import rhel
from rhel.engine.pair import pair


CALLS = []


class Quadratic(eqx.Module):
    """The engine tests' quadratic potential with its echo derivatives written out.

    ``V = ½ φᵀKφ − φᵀBu + ½ c‖u‖²`` with ``K = AᵀA + diag(k)``. In pair coordinates (mean ``m``,
    half-difference ``h`` of the lanes ``m ± h``) the forces are ``(Km − Bu, Kh)`` and the
    half-differences are ``Δ∇_u V = −Bᵀh``, ``Δ∇_B V = −h uᵀ``, ``Δ∇_k V = m ⊙ h``,
    ``Δ∇_A V = A(m hᵀ + h mᵀ)``, ``Δ∇_c V = 0`` (the notation of ``rhel.engine.pair``).
    """

    def __call__(self, phi, u, p):
        return quadratic_potential(phi, u, p)

    def echo_derivatives(self, phi_pair, u, p):
        CALLS.append(phi_pair.shape)  # trace-time record: the echo did call this method
        K = p["A"].T @ p["A"] + jnp.diag(p["k"])
        mean, half = phi_pair
        forces = jnp.stack([K @ mean - p["B"] @ u, K @ half])
        d_params = {
            "A": p["A"] @ (jnp.outer(mean, half) + jnp.outer(half, mean)),
            "k": mean * half,
            "B": -jnp.outer(half, u),
            "c": jnp.zeros_like(p["c"]),
        }
        return forces, -p["B"].T @ half, d_params


def test_the_echo_uses_echo_derivatives_and_gets_the_autodiff_gradients(x64):
    params, inputs, phi0, pi0, dt, target = make_problem(0, "quadratic", P=5, H=3, L=40, per_dim_dt=True)
    closed = Quadratic()
    assert isinstance(closed, rhel.EchoDerivatives) and not isinstance(quadratic_potential, rhel.EchoDerivatives)
    errors = rhel.echo_derivatives_error(closed, params, pair(phi0, phi0 + 0.3), inputs[0])
    assert max(errors) < 1e-13

    CALLS.clear()
    args = (params, inputs, phi0, pi0, dt, target)
    got = all_gradients(*args, kind=closed, method=rhel.RHEL())
    assert CALLS == [(2, 5)]
    want = all_gradients(*args, kind="quadratic", method=rhel.BPTT())
    assert max_relative_error(got, want) < 1e-9


def test_a_wrong_closed_form_is_caught_by_the_check(x64):
    params, inputs, phi0, *_ = make_problem(1, "quadratic", P=4, H=2, L=5, per_dim_dt=False)

    class Wrong(Quadratic):
        def echo_derivatives(self, phi_pair, u, p):
            forces, du, d_params = super().echo_derivatives(phi_pair, u, p)
            return forces, du, {**d_params, "k": 2 * d_params["k"]}

    errors = rhel.echo_derivatives_error(Wrong(), params, pair(phi0, phi0 - 0.1), inputs[0])
    assert errors.forces < 1e-13 and errors.inputs < 1e-13 and errors.params > 0.1


def test_the_check_names_what_is_wrong(x64):
    params, inputs, phi0, *_ = make_problem(2, "quadratic", P=4, H=2, L=5, per_dim_dt=False)
    same = pair(phi0, phi0)
    with pytest.raises(rhel.RHELError, match="no echo_derivatives method"):
        rhel.echo_derivatives_error(quadratic_potential, params, same, inputs[0])
    with pytest.raises(rhel.RHELError, match=r"shape \(2, P\)"):
        rhel.echo_derivatives_error(Quadratic(), params, phi0, inputs[0])

    class Incomplete(Quadratic):
        def echo_derivatives(self, phi_pair, u, p):
            forces, du, d_params = super().echo_derivatives(phi_pair, u, p)
            return forces, du, {k: v for k, v in d_params.items() if k != "c"}

    with pytest.raises(rhel.RHELError, match="structure of params"):
        rhel.echo_derivatives_error(Incomplete(), params, same, inputs[0])
