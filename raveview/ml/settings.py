"""Training settings and per-member results shared by the training engines."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


#: Keras' Adam constants (the published fits used them): beta_1, beta_2, epsilon.
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7


def dropout_keys(seeds) -> np.ndarray:
    """The first word of each member's stateless dropout seed, from its member seed (int64)."""
    return np.asarray(seeds, dtype=np.int64) % (2**31 - 1)


@dataclass(frozen=True)
class TrainingSettings:
    """How an ensemble is fitted; defaults are the published values (Guiglion et al. 2020)."""

    members: int = 100
    max_epochs: int = 1000
    patience: int = 40
    batch_size: int = 16
    learning_rate: float = 1e-3
    test_fraction: float = 0.06
    keep_percentile: float = 80.0
    seed: int = 42
    with_photometry: bool = True

    def to_dict(self) -> dict:
        """Plain-JSON form for manifests."""
        return asdict(self)


@dataclass
class MemberResult:
    """A trained member.

    Parameters
    ----------
    seed
        The member's seed (initialisation, dropout, shuffling).
    weights
        Weights in the order of ``keras.Model.get_weights()`` for
        :func:`raveview.ml.architecture.build_model`.
    train_loss, val_loss
        Loss per epoch.
    best_epoch
        Epoch (0-based) whose weights were kept.
    """

    seed: int
    weights: list[np.ndarray]
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0

    @property
    def last_val_loss(self) -> float:
        """The last validation loss (the published selection criterion)."""
        return float(self.val_loss[-1]) if self.val_loss else float("nan")

    @property
    def epochs(self) -> int:
        """Number of epochs run."""
        return len(self.train_loss)
