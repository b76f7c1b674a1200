"""Writing a :class:`MockSurvey` to disk: spectra, ``photometry.csv`` and ``labels.csv``."""

from __future__ import annotations

from collections.abc import Generator
from os import PathLike
from pathlib import Path

import numpy as np

from raveview.core.errors import RaveviewError
from raveview.core.progress import Progress, run_to_end
from raveview.mock.survey import MockSurvey


def iter_write_survey(
    survey: MockSurvey, out: str | PathLike[str], layout: str | None = None
) -> Generator[Progress, None, dict[str, Path]]:
    """Write ``survey`` under ``out``, yielding :class:`Progress`; returns the written paths.

    Writes ``out/spectra/RAVE_<obs_id>.fits`` (DR6 layout) or ``out/spectra.fits``
    (matrix layout), plus ``out/photometry.csv`` and ``out/labels.csv``.

    Parameters
    ----------
    survey
        The simulated survey.
    out
        Output folder (created if needed).
    layout
        ``"dr6"`` or ``"matrix"``; defaults to the survey's own layout. A matrix can only be
        written from a survey simulated on the model grid.
    """
    from raveview.core.io import write_rave_dr6
    from raveview.core.io.matrix import write_matrix

    out = Path(out)
    layout = layout or survey.layout
    if layout == "matrix" and survey.layout != "matrix":
        raise ValueError("a matrix file needs a survey simulated with layout='matrix'")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RaveviewError(f"cannot create the output folder ({exc.strerror})", out) from None
    paths: dict[str, Path] = {}
    labels = survey.labels
    n = len(survey)
    if layout == "matrix":
        yield Progress(0, n, "writing spectra.fits")
        ids = {"rave_obs_id": labels["rave_obs_id"].tolist(), "source_id": labels["source_id"].to_numpy(),
               "snr": labels["SNR"].to_numpy()}
        paths["spectra"] = write_matrix(out / "spectra.fits", survey.grid.wavelength, np.asarray(survey.flux),
                                        np.asarray(survey.rel_error), ids)
        yield Progress(n, n, "writing spectra.fits")
    else:
        folder = out / "spectra"
        folder.mkdir(exist_ok=True)
        paths["spectra"] = folder
        for i, row in enumerate(labels.itertuples(index=False)):
            header = {"SNR": (float(row.SNR), "signal-to-noise ratio per pixel"),
                      "SOURCEID": (int(row.source_id), "Gaia source_id"),
                      "MOCK": (True, "simulated by raveview simulate"),
                      "SIMCLASS": (str(row.EXOTIC_CLASS), "mock star class")}
            write_rave_dr6(folder / f"RAVE_{row.rave_obs_id}.fits", survey.flux[i], survey.rel_error[i],
                           float(survey.start[i]), float(survey.step[i]), row.rave_obs_id, header)
            if (i + 1) % 200 == 0 or i + 1 == n:
                yield Progress(i + 1, n, "writing spectra")
    paths["photometry"] = out / "photometry.csv"
    survey.photometry.to_csv(paths["photometry"], index=False, float_format="%.6g")
    paths["labels"] = out / "labels.csv"
    labels.to_csv(paths["labels"], index=False, float_format="%.6g")
    return paths


def write_survey(survey: MockSurvey, out: str | PathLike[str], layout: str | None = None) -> dict[str, Path]:
    """Write ``survey`` under ``out`` (see :func:`iter_write_survey`); returns the written paths."""
    return run_to_end(iter_write_survey(survey, out, layout))
