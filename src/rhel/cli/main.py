"""Entry point of the ``rhel`` command.

Each subcommand lives in its own module of :mod:`rhel.cli` and exposes ``register(subparsers)``, which adds
its parser and sets ``func`` (called with the parsed arguments, returning an exit code). Heavy imports
(JAX, the models) happen inside ``func`` so that ``rhel --help`` is instant. Before a subcommand that trains
HSSMs runs (:data:`RETAINS_FREED_MEMORY`), the process's allocator is told to keep the memory a step frees
(:func:`rhel.allocator.retain_freed_memory`: a training step no longer page-faults its temporaries in at
every call). Before any subcommand, XLA is told to compile small loops into one kernel each
(:func:`rhel.xla_loops.compile_small_loops`: a recurrence over small arrays is no longer dispatched kernel by
kernel at every step); JAX has not started then.

A :class:`~rhel.errors.RHELError` or a file-system error (:class:`OSError`: a path that is a file where a
folder is needed, a full disk, no permission) ends the command with one line on standard error and exit
code 2; an interrupt with exit code 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rhel.allocator import retain_freed_memory
from rhel.xla_loops import compile_small_loops
from rhel.errors import RHELError

#: Subcommand modules, in the order ``rhel --help`` lists them.
SUBCOMMANDS: tuple[str, ...] = ("compare", "train", "report", "bench", "data", "physics", "gradcheck")

#: Subcommands whose process trains HSSMs and so keeps freed memory for the next step (``rhel bench`` sets
#: it up in its HSSM workers; the generic engine's small steps are better off without it).
RETAINS_FREED_MEMORY: tuple[str, ...] = ("compare", "train")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rhel",
        description="Recurrent Hamiltonian Echo Learning: train Hamiltonian SSMs with exact echo gradients.",
    )
    from rhel import __version__

    parser.add_argument("--version", action="version", version=f"rhel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"rhel.cli.{name}").register(sub)
    return parser


def os_error_message(error: OSError) -> str:
    """``<strerror>: <filename>`` (and ``-> <filename2>`` for a move) of a file-system error; its text when
    it names no file."""
    if error.strerror is None:
        return str(error)
    names = [str(n) for n in (error.filename, error.filename2) if n is not None]
    return ": ".join([error.strerror, " -> ".join(names)] if names else [error.strerror])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    compile_small_loops(warn=False)  # in a process where JAX already runs (e.g. tests), it does nothing
    if args.command in RETAINS_FREED_MEMORY:
        retain_freed_memory()
    try:
        return int(args.func(args) or 0)
    except RHELError as e:
        print(f"rhel {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a file or folder that cannot be read or written: one line, not a traceback
        print(f"rhel {args.command}: error: {os_error_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rhel {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
