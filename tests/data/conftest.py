"""Fixtures of the data tests: a fresh cache per test and a folder of generated PPG-DaLiA subject files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rhel.data import ppg

from ppg_files import PPG_LABELS, write_subject


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty data cache; $RHEL_DATA points elsewhere so that only the explicit path is used."""
    monkeypatch.setenv("RHEL_DATA", str(tmp_path / "env-cache-unused"))
    return tmp_path / "cache"


@pytest.fixture(scope="session")
def ppg_source(tmp_path_factory) -> Path:
    """A PPG_FieldStudy folder with 15 generated subjects (read-only for the tests)."""
    root = tmp_path_factory.mktemp("ppg") / "PPG_FieldStudy"
    rng = np.random.default_rng(0)
    for i in ppg.SUBJECTS:
        write_subject(root / f"S{i}" / f"S{i}.pkl", PPG_LABELS[i], rng, spikes=i == 1)
    return root
