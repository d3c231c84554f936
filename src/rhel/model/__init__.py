"""The Hamiltonian state-space model (HSSM) built from HRUs, its batched loss, and the RHEL-vs-BPTT check.

This layer imports only :mod:`rhel.engine` and :mod:`rhel.units`.
"""

from rhel.model.block import GLU, Block, dropout
from rhel.model.gradcheck import compare_gradients
from rhel.model.heads import ClassificationHead, RegressionHead
from rhel.model.hssm import HSSM, cast_floats, make_hssm
from rhel.model.loss import batch_loss, batch_predict
from rhel.model.norm import MaskedBatchNorm

__all__ = [
    "HSSM",
    "make_hssm",
    "batch_loss",
    "batch_predict",
    "compare_gradients",
    "Block",
    "GLU",
    "MaskedBatchNorm",
    "ClassificationHead",
    "RegressionHead",
    "cast_floats",
    "dropout",
]
