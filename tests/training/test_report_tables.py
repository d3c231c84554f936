"""rhel report: mean ± std over seeds per data set and method, Markdown + CSV + learning-curve PNGs."""

import csv

import numpy as np
import pytest

from rhel.errors import RHELError
from rhel.training.report import write_report
from rhel.training.results import write_metrics, write_results


def fake_runs(root, values):
    """values: {(dataset, model, gradient, task): [test metric per seed]}"""
    for (dataset, model, gradient, task), vals in values.items():
        for seed, v in zip((2345, 3456, 4567), vals):
            d = root / dataset / model / gradient / f"seed{seed}"
            write_results(d, dict(dataset=dataset, model=model, gradient=gradient, seed=seed, task=task,
                                  metric="acc" if task == "classification" else "mse", test_metric=v,
                                  time_per_step_s=0.01, peak_rss_mb=100.0))
            write_metrics(d, [dict(step=s, val_metric=v * s / 300) for s in (100, 200, 300)])


def test_tables_csv_and_plots(tmp_path):
    values = {
        ("GunPoint", "linear", "rhel", "classification"): [0.80, 0.90, 0.85],
        ("GunPoint", "linear", "bptt", "classification"): [0.70, 0.75, 0.95],
        ("ACSF1", "linear", "rhel", "classification"): [0.5, 0.6],
        ("ACSF1", "linear", "bptt", "classification"): [0.4],
        ("PPG", "linear", "rhel", "regression"): [0.091, 0.099],
    }
    fake_runs(tmp_path / "runs", values)
    rep = write_report([tmp_path / "runs"], tmp_path / "rep")
    md = (tmp_path / "rep" / "report.md").read_text()
    gp = np.array([0.80, 0.90, 0.85]) * 100
    assert f"{gp.mean():.1f} ± {gp.std():.1f}" in md
    row = next(l for l in md.splitlines() if l.startswith("| linear RHEL") and "±" in l and "85.0" in l)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "linear RHEL" and cells[1] == "55.0 ± 5.0" and cells[3] == f"{(0.55 + 0.85) / 2 * 100:.1f}"
    bptt = next(l for l in md.splitlines() if l.startswith("| linear BPTT") and "–" not in l.split("|")[-2])
    assert "| 40.0 |" in bptt  # one seed: no ± part
    assert "test MSE ×1e-2" in md and "9.5 ± 0.4" in md
    rows = list(csv.DictReader(open(tmp_path / "rep" / "report.csv")))
    assert len(rows) == 5
    r = next(r for r in rows if r["dataset"] == "GunPoint" and r["gradient"] == "bptt")
    assert int(r["n"]) == 3 and float(r["mean"]) == pytest.approx(np.mean([0.70, 0.75, 0.95]))
    assert float(r["std"]) == pytest.approx(np.std([0.70, 0.75, 0.95]))
    pngs = sorted(p.name for p in (tmp_path / "rep").glob("*.png"))
    assert pngs == ["curves_ACSF1.png", "curves_GunPoint.png", "curves_PPG.png"]
    assert (tmp_path / "rep" / "curves_GunPoint.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(rep["rows"]) == 5


def test_no_runs_and_duplicate_runs_are_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RHELError, match="no results.json"):
        write_report([tmp_path / "empty"], tmp_path / "rep")
    with pytest.raises(RHELError, match="does not exist"):
        write_report([tmp_path / "nope"], tmp_path / "rep")
    fake_runs(tmp_path / "runs", {("GunPoint", "linear", "rhel", "classification"): [0.8]})
    with pytest.raises(RHELError, match="two runs"):
        write_report([tmp_path / "runs", tmp_path / "runs" / "GunPoint"], tmp_path / "rep")


def test_columns_follow_the_papers_order(tmp_path):
    fake_runs(tmp_path / "runs", {(d, "linear", "rhel", "classification"): [0.5]
                                  for d in ("Heartbeat", "EigenWorms", "GunPoint", "SelfRegulationSCP1")})
    md = write_report([tmp_path / "runs"], tmp_path / "rep")["markdown"]
    head = next(l for l in md.splitlines() if l.startswith("| method"))
    assert [c.strip() for c in head.strip("|").split("|")] == [
        "method", "EigenWorms", "SelfRegulationSCP1", "Heartbeat", "GunPoint", "Avg"]
