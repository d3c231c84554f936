"""``rhel report``: the paper's tables and learning curves from finished runs."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help="tables (mean ± std over seeds, RHEL vs BPTT) and learning curves from run folders",
        description="Collect the results.json of every run under RUN_DIR... and write report.md (Markdown "
        "tables in the layout of the paper: mean ± std over seeds, per data set, RHEL vs BPTT), report.csv "
        "and one learning-curve PNG per data set to --out. The Markdown is also printed.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders, or folders above them "
                   "(e.g. the --out of rhel train)")
    p.add_argument("--out", default="report", metavar="DIR", help="where to write the report (default: report)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rhel.cli.checks import output_folder
    from rhel.training.report import write_report

    output_folder("--out", args.out)
    rep = write_report(args.run_dirs, args.out)
    print(rep["markdown"])
    print("wrote " + ", ".join(str(f) for f in rep["files"]))
    return 0
