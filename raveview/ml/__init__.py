"""Machine learning: the CNN architecture, ensembles, model bundles, training.

TensorFlow/Keras are imported lazily inside the functions that need them, so
importing this package is cheap and the GUI window can appear before
TensorFlow has loaded.
"""
