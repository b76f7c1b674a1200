"""The build step pyproject.toml cannot declare: raveview's optional C extension.

``raveview.ml._conv_stack`` is the CPU kernel of the ensemble's convolutions
(see ``raveview/ml/conv_kernel.py``). It is optional: without a C compiler the
install still succeeds, and raveview uses TensorFlow's kernels instead.
Everything else about the package is in ``pyproject.toml``.
"""

import sys

from setuptools import Extension, setup

GCC_LIKE = not sys.platform.startswith("win")

setup(
    ext_modules=[
        Extension(
            "raveview.ml._conv_stack",
            sources=["raveview/ml/_conv_stack.c"],
            extra_compile_args=["-O3", "-fno-math-errno", "-Wno-psabi"] if GCC_LIKE else [],
            optional=True,
        )
    ]
)
