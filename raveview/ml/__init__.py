"""Machine learning: the CNN architecture, ensembles, model bundles, training.

TensorFlow/Keras are imported lazily inside the functions that need them, so
importing this package is cheap and the GUI window can appear before
TensorFlow has loaded.

Thread policy
-------------
Keras ``predict``/``fit`` on one model are not thread-safe. Every call into a
Keras model made by :mod:`raveview.ml` (prediction, training, loading) holds
:data:`KERAS_LOCK`, so the GUI, a batch job and a test may call
:meth:`raveview.ml.ensemble.Ensemble.predict` from any thread; the calls are
serialised.
"""

import threading

#: Re-entrant lock held around every call into Keras made by raveview.ml.
KERAS_LOCK = threading.RLock()

__all__ = ["KERAS_LOCK"]


def _quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up chatter and retracing warnings off the user's terminal.

    Must run before TensorFlow is imported; it only sets an environment default
    and logger levels, so it costs nothing. ``TF_CPP_MIN_LOG_LEVEL`` set by the
    user wins.
    """
    import logging
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


_quiet_tensorflow()
