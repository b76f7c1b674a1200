"""raveview: CNN parameterization of RAVE-like Ca II triplet spectra.

The package is split into a Qt-free core (``raveview.core``, ``raveview.ml``,
``raveview.pipeline``, ``raveview.cli``) and a thin Qt shell (``raveview.gui``).
TensorFlow is imported lazily, only inside ``raveview.ml``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("raveview")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
