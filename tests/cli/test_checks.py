"""rhel.cli.checks: the up-front checks of flag values and output paths (none creates anything)."""

import math

import pytest

from rhel.argcheck import integer_at_least, positive_integer, positive_real
from rhel.cli import checks
from rhel.errors import RHELError


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf, -math.inf])
def test_positive_flags_refuse_non_finite_and_non_positive_values(value):
    with pytest.raises(RHELError, match=r"^--timeout must be a finite number > 0, got"):
        positive_real("--timeout", value)


def test_count_flags_name_the_least_count():
    with pytest.raises(RHELError, match=r"^--steps must be a positive integer, got 0\.$"):
        positive_integer("--steps", 0)
    with pytest.raises(RHELError, match=r"^--classes must be an integer >= 2, got 1\.$"):
        integer_at_least("--classes", 1, 2)
    assert integer_at_least("--classes", 2, 2) == 2


def test_positive_and_non_negative_flags_return_good_values():
    assert positive_real("--epsilon", 1e-3) == 1e-3
    assert checks.require_non_negative("--seed", 0) == 0
    with pytest.raises(RHELError, match=r"^--seed must be >= 0, got -1\.$"):
        checks.require_non_negative("--seed", -1)


def test_missing_folders_are_accepted_and_not_created(tmp_path):
    checks.output_folder("--out", tmp_path / "a" / "b")
    checks.output_file("--json", tmp_path / "c" / "d.json")
    checks.output_figure("--plot", tmp_path / "e" / "f.svg")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(checks.os, "access", lambda path, mode: False)  # as a non-root user would see it
    with pytest.raises(RHELError, match=r"cannot write in .* \(permission denied\)"):
        checks.output_file("--json", tmp_path / "new" / "bench.json")


def test_the_json_and_the_plot_must_be_two_files(tmp_path, monkeypatch):
    from argparse import Namespace

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "real.png").write_text("")
    (tmp_path / "link.png").symlink_to(tmp_path / "real.png")
    same = [("out.png", "out.png"), ("out.png", str(tmp_path / "out.png")), ("sub/../out.png", "out.png"),
            ("link.png", "real.png")]
    for json_path, plot_path in same:
        with pytest.raises(RHELError, match=rf"^--json {json_path} and --plot {plot_path} are the same file"):
            checks.report_outputs(Namespace(json=json_path, plot=plot_path), json_example="bench.json")
    checks.report_outputs(Namespace(json="out.json", plot="out.png"), json_example="bench.json")
    checks.report_outputs(Namespace(json="sub/out.png", plot="out.png"), json_example="bench.json")
