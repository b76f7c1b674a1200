"""The mock RAVE survey: physics-grounded spectra, photometry, labels and exotic stars.

Qt-free and TensorFlow-free. Main entry points:

- :func:`simulate_survey` / :func:`iter_simulate_survey` → :class:`MockSurvey`;
- :func:`write_survey` / :func:`iter_write_survey`;
- :func:`model_spectrum` (noise-free spectra for given labels).
"""

from raveview.mock.exotic import EXOTIC_CLASSES
from raveview.mock.model import model_spectrum
from raveview.mock.survey import MockSurvey, iter_simulate_survey, simulate_survey
from raveview.mock.writer import iter_write_survey, write_survey

__all__ = [
    "EXOTIC_CLASSES", "MockSurvey", "iter_simulate_survey", "iter_write_survey", "model_spectrum",
    "simulate_survey", "write_survey",
]
