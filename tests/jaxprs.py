"""Walking a jaxpr, for tests that check what a traced computation contains (no compilation needed)."""

from __future__ import annotations

from collections.abc import Iterator


def equations(jaxpr) -> Iterator:
    """Every equation of ``jaxpr`` and, depth first, of the jaxprs inside it (scans, conditionals, custom
    derivatives, nested jits)."""
    for eqn in jaxpr.eqns:
        yield eqn
        for param in eqn.params.values():
            for sub in param if isinstance(param, (tuple, list)) else (param,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    yield from equations(inner)


def avals(eqn) -> Iterator:
    """The abstract values an equation reads and writes (literals included)."""
    for var in (*eqn.invars, *eqn.outvars):
        aval = getattr(var, "aval", None)
        if aval is not None:
            yield aval
