"""``rhel physics``: the paper's physical toy — six coupled oscillators trained by RHEL, rendered."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "physics",
        help="train six coupled oscillators (the paper's physical toy) by RHEL and render the echo",
        description="Six coupled harmonic oscillators with masses, springs and couplings; a force drives "
        "oscillator 1 and oscillator 4 must track a target signal (what a teacher system with other "
        "springs/couplings does). Trains springs and couplings with Adam on the RHEL gradient (and, for "
        "comparison, on BPTT), then writes trajectories.png (forward pass, the two echoes, the adjoint), "
        "gradient.png (the gradient accumulating during the echo), loss.png, and echo.mp4 if ffmpeg is "
        "on PATH.",
    )
    p.add_argument("--out", default="physics", metavar="DIR", help="where the figures go (default: physics)")
    p.add_argument("--steps", type=int, default=200, help="Adam steps (default 200)")
    p.add_argument("--lr", type=float, default=0.05, help="learning rate (default 0.05)")
    p.add_argument("--epsilon", type=float, default=0.1, help="RHEL nudge strength ε (default 0.1)")
    p.add_argument("--horizon", type=float, default=30.0, help="time span T of a run (default 30)")
    p.add_argument("--grid", type=int, default=300, help="leapfrog steps over T (default 300)")
    p.add_argument("--seed", type=int, default=0, help="seed of the teacher and the initial θ (0 to 2**32 - 1)")
    p.add_argument("--no-compare", dest="compare", action="store_false",
                   help="do not also train with BPTT for comparison")
    p.add_argument("--no-animation", dest="animate", action="store_false", help="never write echo.mp4")
    p.add_argument("--convergence", action="store_true",
                   help="also print how the RHEL gradient converges as the step halves (continuous-time limit)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rhel.argcheck import positive_integer, positive_real
    from rhel.cli.checks import require_seed
    from rhel.physics.demo import run_demo

    positive_integer("--steps", args.steps)
    positive_integer("--grid", args.grid)
    positive_real("--horizon", args.horizon)
    positive_real("--lr", args.lr)
    require_seed("--seed", args.seed)
    res = run_demo(args.out, steps=args.steps, learning_rate=args.lr, epsilon=args.epsilon,
                   horizon=args.horizon, grid=args.grid, seed=args.seed, compare=args.compare,
                   animate=args.animate)
    for name, losses in res.losses.items():
        print(f"{name}: loss {losses[0]:.4g} -> {losses[-1]:.4g} ({losses[0] / losses[-1]:.3g}x lower) "
              f"in {len(losses) - 1} steps")
    print(f"RHEL vs BPTT gradient at the initial parameters: max relative difference {res.gradient_rel_diff:.2e}")
    print(res.animation_note)
    if args.convergence:
        from rhel.physics.demo import convergence_table

        grids = tuple(args.grid * 2**i for i in range(4))
        print("RHEL gradient as δ = T/L halves (change to the next grid; order 2 = continuous adjoint limit):")
        for grid, change, order in convergence_table(horizon=args.horizon, grids=grids, seed=args.seed,
                                                     epsilon=args.epsilon):
            print(f"  L = {grid:6d}   δ = {args.horizon / grid:.4g}   change {change:.3e}   order {order:.2f}")
    print("wrote " + ", ".join(str(f) for f in res.files))
    return 0
