"""Training: configs, the training loop with early stopping, checkpoints and resume, results and reports.

Layer: imports :mod:`rhel.engine`, :mod:`rhel.model` and :mod:`rhel.data` (lazily, inside functions, so
that the command line stays fast to start).
"""

from rhel.training.config import PAPER_SEEDS, TrainConfig, load_config, resolve, shipped_configs
from rhel.training.trainer import run_dir, train, train_run

__all__ = ["PAPER_SEEDS", "TrainConfig", "load_config", "resolve", "shipped_configs", "run_dir", "train",
           "train_run"]
