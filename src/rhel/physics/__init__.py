"""Physical Hamiltonian systems and continuous-time RHEL (issue 7).

Beside :mod:`rhel.units` in the layering (imports only :mod:`rhel.engine` and the bottom utilities: the
figures of :mod:`rhel.physics.render` are written by :func:`rhel.figure.save_figure`):

* :func:`echo_trace` — the RHEL echo with its intermediate states: the adjoint λ(t) along the trajectory
  and the parameter gradient as it accumulates over echo time;
* :func:`midpoint_inputs`, :func:`integral_loss` — a continuous-time problem (input u(t), loss
  ∫ℓ(φ(t), t) dt) posed on the leapfrog grid at second order;
* :class:`CoupledOscillators` and :mod:`rhel.physics.toy` — the paper's physical toy (Eq. 8): six
  oscillators with masses, springs and couplings, trained by RHEL (``rhel physics`` renders it);
* :func:`final_time_loss` — Hamiltonian Echo Backpropagation, the special case of a static input in the
  initial condition and a loss at the final time only.
"""

from rhel.physics.continuous import integral_loss, midpoint_inputs, time_grid, trapezoid_weights
from rhel.physics.heb import final_time_loss
from rhel.physics.oscillators import CoupledOscillators, OscillatorParams, random_params
from rhel.physics.trace import EchoTrace, echo_trace, forward_momenta

__all__ = [
    "echo_trace",
    "EchoTrace",
    "forward_momenta",
    "midpoint_inputs",
    "integral_loss",
    "time_grid",
    "trapezoid_weights",
    "CoupledOscillators",
    "OscillatorParams",
    "random_params",
    "final_time_loss",
]
