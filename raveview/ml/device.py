"""Which device TensorFlow computes on, in words."""

from __future__ import annotations

import os


def describe_device() -> str:
    """``"GPU: <name>"`` when TensorFlow sees a GPU, else ``"CPU (n threads, <engine>)"``.

    The CPU engine is the compiled convolution kernel when it was built, else TensorFlow.

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
    from raveview.ml import conv_kernel

    if conv_kernel.available():
        return f"CPU ({conv_kernel.cpu_threads()} threads, compiled kernel)"
    threads = tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))
    return f"CPU ({threads} threads, TensorFlow)"
