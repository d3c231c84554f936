"""`rhel bench`: a tiny smoke configuration of each suite, plus the harness's own logic.

Benchmarks are not timed tests: nothing here asserts a speed, only that every method is measured in
its own process, that the numbers are plausible in kind (positive, in MB not KB, finite training) and
that the reports (table, ratios, JSON, plot) are produced from them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rhel import allocator, xla_loops
from rhel.bench.config import Config
from rhel.bench.plot import plot_results
from rhel.bench.report import format_summary, ratios
from rhel.bench.runner import run_one
from rhel.cli.main import main
from rhel.environment import switched_off
from rhel.errors import RHELError
from rhel.xla_loops import small_loop_bytes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _expected_small_loop_bytes():
    """The threshold the workers run with: the one in the environment they inherit, else rhel's own
    (unless the environment turns it off)."""
    inherited = small_loop_bytes()
    if inherited is not None:
        return inherited
    return None if switched_off(xla_loops.ENVIRONMENT_VARIABLE) else xla_loops.SMALL_LOOP_BYTES


def _check_report(path, methods):
    report = json.loads(path.read_text())
    results = report["results"]
    assert [r["config"]["method"] for r in results] == methods
    for r in results:
        assert "error" not in r, r.get("error")
        assert len(r["times_s"]) == r["config"]["repeats"]
        assert r["time_s"] == sorted(r["times_s"])[len(r["times_s"]) // 2]
        assert r["finite"]
        # ru_maxrss converted to MB: a JAX process needs tens of MB at least, never tens of GB.
        assert 30 < r["rss_setup_mb"] <= r["rss_compiled_mb"] <= r["peak_rss_mb"] < 20_000
        assert 30 < r["step_peak_rss_mb"] <= r["peak_rss_mb"]
        # the step's XLA buffers: its parameters and optimiser state at least, far below the process
        assert 0 < r["buffers_mb"] < r["step_peak_rss_mb"] - 30
        # an HSSM worker keeps freed memory as `rhel train` does (unless the environment says no); an
        # engine worker keeps glibc's defaults
        wanted = not switched_off(allocator.ENVIRONMENT_VARIABLE) and allocator._glibc() is not None
        assert r["retain_freed_memory"] is (r["config"]["suite"] == "hssm" and wanted)
        # every worker compiles small loops into one kernel, as the rhel command does
        assert r["small_loop_bytes"] == _expected_small_loop_bytes()
    assert report["machine"]["cpus"] >= 1
    assert report["complete"] is True and report["measured"] == report["planned"] == len(methods)
    return report


def test_engine_suite_smoke(tmp_path, capsys):
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    code = main(["bench", "--suite", "engine", "--lengths", "12", "--state", "3",
                 "--methods", "bptt,rhel", "--json", str(out), "--plot", str(png)])
    assert code == 0
    report = _check_report(out, ["bptt", "rhel"])
    names = {row["ratio"] for row in report["ratios"]}
    assert {"time rhel/bptt", "memory rhel/bptt"} <= names
    assert png.read_bytes()[:8] == PNG_MAGIC
    printed = capsys.readouterr().out
    assert "engine/rhel" in printed and "| engine | 12 | time rhel/bptt |" in printed


def test_hssm_suite_smoke(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(allocator.ENVIRONMENT_VARIABLE, "1")  # the workers set it up as `rhel train` does
    out = tmp_path / "bench.json"
    code = main(["bench", "--model", "nonlinear", "--lengths", "10", "--batch", "2", "--blocks", "1",
                 "--hidden", "4", "--state", "2", "--methods", "forward,rhel", "--json", str(out)])
    assert code == 0
    report = _check_report(out, ["forward", "rhel"])
    assert all(r["config"]["model"] == "nonlinear" for r in report["results"])
    # the two methods were also timed interleaved in one process, and the time ratio uses those times
    forward, rhel = report["results"]
    for r in (forward, rhel):
        assert len(r["interleaved_times_s"]) == r["config"]["repeats"]
        assert r["interleaved_time_s"] == sorted(r["interleaved_times_s"])[len(r["interleaved_times_s"]) // 2]
    row = report["ratios"][0]
    assert row["ratio"] == "time rhel/forward"
    assert row["value"] == rhel["interleaved_time_s"] / forward["interleaved_time_s"]
    assert "nonlinear interleaved" in capsys.readouterr().out


def test_interleaving_can_be_skipped(tmp_path):
    out = tmp_path / "bench.json"
    code = main(["bench", "--model", "linear", "--lengths", "8", "--batch", "1", "--blocks", "1",
                 "--hidden", "3", "--state", "2", "--methods", "bptt,rhel", "--repeats", "3",
                 "--no-interleave", "--json", str(out)])
    assert code == 0
    report = _check_report(out, ["bptt", "rhel"])
    assert not any("interleaved_time_s" in r for r in report["results"])
    bptt, rhel = report["results"]
    time_row = next(row for row in report["ratios"] if row["ratio"] == "time rhel/bptt")
    assert time_row["value"] == rhel["time_s"] / bptt["time_s"]


def test_a_config_takes_numpy_counts_and_refuses_bools():
    import numpy as np

    config = Config(length=np.int64(100), batch=np.int32(2), warmup=np.int16(0))
    assert Config.from_json(config.to_json()) == Config(length=100, batch=2, warmup=0)
    assert type(config.length) is int and type(config.warmup) is int
    for field, value, message in (("blocks", True, "blocks must be a positive integer, got True"),
                                  ("state", 0, "state must be a positive integer, got 0"),
                                  ("warmup", False, "warmup must be a non-negative integer, got False"),
                                  ("warmup", -1, "warmup must be a non-negative integer, got -1")):
        with pytest.raises(RHELError, match=message):
            Config(**{field: value})


def test_engine_diffrax_methods_train():
    pytest.importorskip("diffrax")
    from rhel.bench.worker import run_config

    for method in ("diffrax_sie", "diffrax_heun_backsolve"):
        result = run_config(Config(suite="engine", method=method, length=4, state=2, repeats=1, warmup=0))
        assert result["finite"] and result["time_s"] > 0


def test_missing_diffrax_is_a_clean_error(monkeypatch):
    from rhel.bench.engine_suite import require_diffrax
    from rhel.errors import RHELError

    monkeypatch.setitem(sys.modules, "diffrax", None)
    with pytest.raises(RHELError, match=r"pip install"):
        require_diffrax()


@pytest.fixture
def no_worker(monkeypatch):
    """Fail a test as soon as a benchmark worker would start (a bad option must stop the run before)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a benchmark worker was started")

    monkeypatch.setattr("rhel.bench.runner.run_one", refuse)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lengths", "10,abc"], "--lengths"),
        (["--lengths", ""], "--lengths is empty"),  # not the default sweep
        (["--lengths", " , "], "--lengths is empty"),
        (["--methods", ""], "--methods is empty"),
        (["--methods", "bptt,rhel,rhel"], "--methods lists rhel twice; give each value once."),
        (["--lengths", "1000,1000"], "--lengths lists 1000 twice; give each value once."),
        (["--lengths", "8, 08"], "--lengths lists 8 twice"),  # the same number, written differently
        (["--methods", "diffrax_sie"], "not a method of the hssm suite"),
        (["--suite", "engine", "--state", "0"], "--state must be a positive integer, got 0."),
        (["--batch", "-2"], "--batch must be a positive integer, got -2."),
        (["--repeats", "0"], "--repeats must be a positive integer, got 0."),
        (["--warmup", "-1"], "--warmup must be >= 0, got -1."),
        (["--lengths", "1,000"], "--lengths must be positive integers, got 0; commas separate the lengths, so "
                                 "write 1000, not 1,000."),
        (["--lengths", "-5"], "--lengths must be positive integers, got -5"),
        (["--timeout", "nan"], "--timeout must be a finite number > 0, got nan"),
        (["--timeout", "0"], "--timeout must be a finite number > 0"),
        (["--epsilon", "-1"], "--epsilon must be a finite number > 0"),
        (["--epsilon", "inf"], "--epsilon must be a finite number > 0"),
        (["--seed", "-1"], "--seed must be an integer from 0 to 4294967295 (a 32-bit seed), got -1."),
        (["--seed", "4294967296"], "--seed must be an integer from 0 to 4294967295 (a 32-bit seed), got 4294967296."),
        (["--seed", "18446744073709551616"], "--seed must be an integer from 0 to 4294967295"),
        (["--plot", "bench.xyz"], "--plot bench.xyz: a figure's file name must end in one of .png, .pdf, .svg"),
    ],
)
def test_bad_options_are_one_line_errors(argv, message, capsys, no_worker):
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unwritable_outputs_are_refused_before_measuring(tmp_path, capsys, no_worker):
    (tmp_path / "a-file").write_text("")
    assert main(["bench", "--json", str(tmp_path)]) == 2
    assert f"--json {tmp_path} is a folder; give a file name" in capsys.readouterr().err
    assert main(["bench", "--plot", str(tmp_path / "a-file" / "bench.png")]) == 2
    assert "a-file is a file, not a folder" in capsys.readouterr().err


def test_the_json_and_the_plot_cannot_be_one_file(tmp_path, capsys, no_worker):
    path = tmp_path / "bench.png"
    assert main(["bench", "--json", str(path), "--plot", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"rhel bench: error: --json {path} and --plot {path} are the same file (the figure would "
                   "overwrite the results); give them two different paths.\n")
    assert not path.exists()


def test_the_recorded_command_is_the_one_parsed(tmp_path, monkeypatch):
    """main([...]) called from Python records its own options, not the process's sys.argv (here pytest's)."""
    titles = []
    monkeypatch.setattr("rhel.bench.runner.run_one", lambda config, timeout=None: _stub_result(config, 1.0))
    monkeypatch.setattr("rhel.bench.plot.plot_results", lambda results, path, title: titles.append(title))
    monkeypatch.setattr(sys, "argv", ["pytest", "-k", "something else"])
    out, png = tmp_path / "my bench.json", tmp_path / "bench.png"
    assert main(["bench", "--model", "linear", "--methods=bptt,rhel", "--lengths", "8", "--no-interleave",
                 "--json", str(out), "--timeout", "60", "--plot", str(png)]) == 0
    command = json.loads(out.read_text())["command"]
    assert command == (f"rhel bench --model linear --methods bptt,rhel --lengths 8 --no-interleave "
                       f"--timeout 60.0 --json '{out}' --plot {png}")
    assert titles[0].startswith(command + "  —  ")
    assert main(["bench", "--methods", "bptt,rhel", "--lengths", "8", "--no-interleave", "--json", str(out)]) == 0
    command = json.loads(out.read_text())["command"]
    assert command == f"rhel bench --methods bptt,rhel --lengths 8 --no-interleave --json '{out}'"


@pytest.mark.parametrize("repeats, warned", [("3", True), ("1", True), ("5", False), ("9", False)])
def test_fewer_repeats_than_the_standard_are_a_warning_kept_in_the_json(tmp_path, monkeypatch, capsys, repeats,
                                                                        warned):
    monkeypatch.setattr("rhel.bench.runner.run_one", lambda config, timeout=None: _stub_result(config, 1.0))
    out = tmp_path / "bench.json"
    assert main(["bench", "--model", "linear", "--methods", "rhel", "--lengths", "8", "--repeats", repeats,
                 "--json", str(out)]) == 0
    warning = (f"--repeats {repeats} is below the benchmark's standard of 5 (the median of at least 5 timed "
               "steps); its times are a quick look, not a measurement.")
    assert capsys.readouterr().err == (f"rhel bench: warning: {warning}\n" if warned else "")
    assert json.loads(out.read_text())["warnings"] == ([warning] if warned else [])


def test_an_interrupted_run_keeps_what_it_measured(tmp_path, monkeypatch, capsys):
    """Each result is written as it comes; an interrupt leaves valid JSON that says the run is incomplete."""
    out = tmp_path / "sub" / "bench.json"
    seen = []

    def fake_run_one(config, *, timeout=None):
        if seen:  # the second configuration: the first must already be on disk, then the user interrupts
            assert json.loads(out.read_text())["measured"] == 1
            raise KeyboardInterrupt
        seen.append(config)
        return {"config": json.loads(config.to_json()), "time_s": 0.5, "peak_rss_mb": 100.0, "finite": True}

    monkeypatch.setattr("rhel.bench.runner.run_one", fake_run_one)
    code = main(["bench", "--model", "linear", "--lengths", "8", "--methods", "bptt,rhel", "--no-interleave",
                 "--json", str(out)])
    assert code == 130
    report = json.loads(out.read_text())
    assert (report["complete"], report["measured"], report["planned"]) == (False, 1, 2)
    assert report["results"][0]["config"]["method"] == "bptt" and report["results"][0]["time_s"] == 0.5
    assert "1 of 2 configurations measured before the interrupt" in capsys.readouterr().err


def test_a_worker_that_runs_too_long_is_reported_not_fatal():
    result = run_one(Config(suite="engine", method="bptt", length=10, state=2), timeout=0.01)
    assert "timed out" in result["error"]
    assert result["config"]["method"] == "bptt"


def test_peak_rss_is_in_megabytes():
    # ru_maxrss is KB on Linux and bytes on macOS; touching 768 MB must show up as ~768 more MB (the
    # process's earlier high-water mark, from importing JAX, is well under that).
    code = (
        "import numpy as np; from rhel.bench.measure import peak_rss_mb; a = peak_rss_mb(); "
        "x = np.ones(768 * 2**20 // 8); print(a, peak_rss_mb())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = map(float, out.stdout.split())
    assert before < 768 <= after < before + 800


def test_a_child_process_reports_its_own_peak_not_its_parents():
    """ru_maxrss survives exec: a process started from a large parent would report the parent's peak.
    The measured peak is the child's own (rhel compare starts its trainings from a JAX process)."""
    import numpy as np

    ballast = np.ones(1024 * 2**20 // 8)  # this process now holds 1 GB
    code = "from rhel.training.results import peak_rss_mb; print(peak_rss_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 512, out.stdout
    del ballast


def _result(method, length, time_s, mem, shape=(4, 2, 64, 16), buffers=None):
    batch, blocks, hidden, state = shape
    config = dict(suite="hssm", model="linear", method=method, length=length, batch=batch,
                  blocks=blocks, hidden=hidden, state=state)
    return {"config": config, "time_s": time_s, "peak_rss_mb": mem, "buffers_mb": buffers}


def test_time_ratios_prefer_the_interleaved_times():
    bptt, rhel = _result("bptt", 4000, 2.0, 400.0), _result("rhel", 4000, 3.0, 300.0)
    bptt["interleaved_time_s"], rhel["interleaved_time_s"] = 2.0, 1.8
    row = next(r for r in ratios([bptt, rhel]) if r["ratio"] == "time rhel/bptt")
    assert (row["value"], row["met"]) == (0.9, True)
    assert "| linear | 4,000 | – | 2 | 1.8 | 0.90 |" in format_summary([bptt, rhel])


def test_ratios_and_targets():
    rows = ratios([
        _result("forward", 4000, 1.0, 100.0),
        _result("bptt", 4000, 2.0, 400.0, buffers=100.0),
        _result("rhel", 4000, 3.0, 300.0, buffers=95.0),
        _result("bptt", 1000, 1.0, 200.0),
        _result("rhel", 1000, 1.5, 100.0),
        _result("bptt", 896, 1.0, 1000.0, shape=(32, 6, 64, 256)),
        _result("rhel", 896, 1.0, 600.0, shape=(32, 6, 64, 256)),
    ])
    got = {(r["length"], r["ratio"]): (r["value"], r["target"], r["met"]) for r in rows}
    assert got[(4000, "time rhel/bptt")] == (1.5, 1.0, False)
    assert got[(4000, "time rhel/forward")] == (3.0, 3.3, True)
    assert got[(4000, "memory rhel/bptt")] == (0.75, 0.9, True)
    assert got[(4000, "buffers rhel/bptt")] == (0.95, 0.9, False)  # the same target on both measures
    assert (1000, "buffers rhel/bptt") not in got  # not measured: no row
    assert got[(1000, "time rhel/bptt")] == (1.5, None, None)  # the time target starts at L = 4,000
    assert got[(896, "memory rhel/bptt")] == (0.6, 0.5, False)  # SCP1 shape: ≤ 0.5


@pytest.mark.parametrize("suffix, magic", [(".png", PNG_MAGIC), (".pdf", b"%PDF"), (".SVG", b"<?xml")])
def test_the_plot_is_written_in_the_format_its_suffix_names(tmp_path, suffix, magic):
    path = tmp_path / f"bench{suffix}"
    plot_results([_result("bptt", 1000, 1.0, 200.0), _result("rhel", 1000, 1.5, 100.0)], path)
    assert path.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_a_single_length_plot_shows_every_measure(tmp_path, monkeypatch):
    """SCP1 and the engine suite measure one length by default: each measure must still be drawn."""
    import matplotlib.colors

    figures = []
    monkeypatch.setattr("rhel.bench.plot.save_figure", lambda fig, path, dpi: figures.append(fig))
    bptt, rhel = _result("bptt", 896, 1.0, 200.0, buffers=50.0), _result("rhel", 896, 1.5, 100.0, buffers=20.0)
    bptt["step_peak_rss_mb"], rhel["step_peak_rss_mb"] = 150.0, 80.0
    plot_results([bptt, rhel], tmp_path / "bench.png")
    (fig,) = figures
    ax_time, ax_mem = fig.axes

    def drawn(ax):
        """(marker, line style, colour, y data) of every line with a visible marker."""
        return {(line.get_marker(), line.get_linestyle(), matplotlib.colors.to_hex(line.get_color()),
                 tuple(line.get_ydata())) for line in ax.get_lines()
                if line.get_marker() not in (None, "None", "", " ") and len(line.get_xdata()) == 1}

    colours = {c: matplotlib.colors.to_hex(f"C{i}") for i, c in enumerate(("linear/bptt", "linear/rhel"))}
    assert {(marker, colour, y) for marker, _, colour, y in drawn(ax_time)} == {
        ("o", colours["linear/bptt"], (1.0,)), ("o", colours["linear/rhel"], (1.5,))}
    assert drawn(ax_mem) == {
        ("o", "-", colours["linear/bptt"], (200.0,)), ("s", ":", colours["linear/bptt"], (150.0,)),
        ("^", "--", colours["linear/bptt"], (50.0,)), ("o", "-", colours["linear/rhel"], (100.0,)),
        ("s", ":", colours["linear/rhel"], (80.0,)), ("^", "--", colours["linear/rhel"], (20.0,)),
    }
    legend = ax_mem.get_legend()
    entries = {text.get_text(): (handle.get_marker(), handle.get_linestyle())
               for text, handle in zip(legend.get_texts(), legend.legend_handles)}
    assert entries == {"linear/bptt": ("None", "-"), "linear/rhel": ("None", "-"),
                       "peak RSS of the process": ("o", "-"), "peak RSS of the steps": ("s", ":"),
                       "XLA buffers of the step": ("^", "--")}


def test_the_plot_refuses_a_format_it_does_not_write(tmp_path):
    from rhel.errors import RHELError

    with pytest.raises(RHELError, match=r"must end in one of \.png, \.pdf, \.svg"):
        plot_results([_result("rhel", 1000, 1.5, 100.0)], tmp_path / "bench.jpg")
    assert list(tmp_path.iterdir()) == []


def test_summary_puts_methods_side_by_side():
    table = format_summary([
        _result("forward", 4000, 1.0, 100.0),
        _result("bptt", 4000, 2.0, 400.0, buffers=100.0),
        _result("rhel", 4000, 3.0, 300.0, buffers=80.0),
        _result("rhel", 8000, 5.0, 500.0),
    ])
    lines = table.splitlines()
    assert lines[2] == ("| linear | 4,000 | 1 | 2 | 3 | 1.50 | 3.00 | 400 | 300 | 0.75 | 100 | 80 | 0.80 "
                        "| separate processes |")
    assert lines[3] == ("| linear | 8,000 | – | – | 5 | – | – | – | 500 | – | – | – | – "
                        "| separate processes |")


def test_time_ratios_never_mix_interleaved_and_separate_times():
    bptt, rhel = _result("bptt", 4000, 2.0, 400.0), _result("rhel", 4000, 3.0, 300.0)
    rhel["interleaved_time_s"] = 1.0  # bptt has none: both ratios' times come from the separate processes
    row = next(r for r in ratios([bptt, rhel]) if r["ratio"] == "time rhel/bptt")
    assert (row["value"], row["measured"]) == (1.5, "separate processes")
    assert "| linear | 4,000 | – | 2 | 3 | 1.50 |" in format_summary([bptt, rhel])


def _stub_result(config, time_s):
    return {"config": json.loads(config.to_json()), "time_s": time_s, "times_s": [time_s], "cpu_time_s": time_s,
            "peak_rss_mb": 100.0, "rss_setup_mb": 50.0, "compile_s": 0.1, "finite": True}


def test_a_failed_interleaved_timing_is_a_failure_and_the_ratios_say_their_times(tmp_path, monkeypatch,
                                                                                  capsys):
    """L = 8: the interleaved worker fails; L = 16: it works. Each ratio row says which times it used, the
    table says the interleaved timing failed, and the run exits with 1."""
    times = {"bptt": 2.0, "rhel": 3.0}

    def fake_run_one(config, *, timeout=None):
        return _stub_result(config, times[config.method])

    def fake_run_group(configs, *, timeout=None):
        group = [json.loads(c.to_json()) for c in configs]
        if configs[0].length == 8:
            return {"group": group, "error": "worker exited with code 1: boom"}
        return {"group": group, "interleaved": {c.method: {"time_s": times[c.method] / 2, "times_s": [1.0]}
                                                for c in configs}}

    monkeypatch.setattr("rhel.bench.runner.run_one", fake_run_one)
    monkeypatch.setattr("rhel.bench.runner.run_group", fake_run_group)
    out = tmp_path / "bench.json"
    code = main(["bench", "--model", "linear", "--lengths", "8,16", "--methods", "bptt,rhel", "--json", str(out)])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.err == ("rhel bench: the interleaved timing of 1 of 2 model-and-length groups failed (see "
                            "above); their time ratios use the separate processes' times\n")
    printed = captured.out.splitlines()
    assert "linear interleaved                 L=8      failed: worker exited with code 1: boom" in captured.out
    assert sum("| 8 | 16 | 2 | interleaved failed |" in line for line in printed) == 1
    assert "| linear/rhel | 8 | 16 | 3 | interleaved failed |" in captured.out
    assert "| linear/rhel | 16 | 16 | 3 | 1.5 |" in captured.out
    assert "| linear | 8 | time rhel/bptt | 1.50 |  | separate processes |" in printed
    assert "| linear | 16 | time rhel/bptt | 1.50 |  | interleaved |" in printed
    assert "| linear | 8 | memory rhel/bptt | 1.00 | ≤ 0.9 **missed** | separate processes |" in printed
    assert any(line.startswith("| linear | 8 | – | 2 | 3 |") and line.endswith("| separate processes |")
               for line in printed)
    assert any(line.startswith("| linear | 16 | – | 1 | 1.5 |") and line.endswith("| interleaved |")
               for line in printed)
    report = json.loads(out.read_text())
    got = {(row["length"], row["ratio"]): (row["value"], row["measured"]) for row in report["ratios"]}
    assert got[(8, "time rhel/bptt")] == (1.5, "separate processes")
    assert got[(16, "time rhel/bptt")] == (1.5, "interleaved")
    assert got[(8, "memory rhel/bptt")] == (1.0, "separate processes")
    assert all(r["interleaved_error"] == "worker exited with code 1: boom"
               for r in report["results"] if r["config"]["length"] == 8)


def test_a_run_without_interleaving_is_not_a_failure(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("rhel.bench.runner.run_one", lambda config, timeout=None: _stub_result(config, 1.0))
    code = main(["bench", "--model", "linear", "--lengths", "8", "--methods", "bptt,rhel", "--no-interleave"])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    assert "| linear/rhel | 8 | 16 | 1 | – |" in captured.out
    assert "| linear | 8 | time rhel/bptt | 1.00 |  | separate processes |" in captured.out
