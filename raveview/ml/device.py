"""Which device TensorFlow computes on, in words."""

from __future__ import annotations

import os


def describe_device() -> str:
    """``"GPU: <name>"`` when TensorFlow sees a GPU, else ``"CPU (n threads)"``.

    Imports TensorFlow (slow the first time).
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        try:
            details = tf.config.experimental.get_device_details(gpus[0])
            name = details.get("device_name") or gpus[0].name
        except Exception:  # details are best effort
            name = gpus[0].name
        more = f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else ""
        return f"GPU: {name}{more}"
    threads = tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))
    return f"CPU ({threads} threads)"
