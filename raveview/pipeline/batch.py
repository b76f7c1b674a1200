"""Survey-scale batch parameterization: stream, journal, resume, distribute.

:func:`run_batch` turns a list of inputs (files, folders, globs, path lists,
multi-spectrum files) into a catalog. Inputs are processed in chunks; each
chunk's rows are committed to an SQLite :class:`~raveview.pipeline.journal.Journal`
next to the output, so a crash or Ctrl-C loses at most the chunk in flight and
``resume=True`` carries on where the run stopped. Files are read ahead on a
thread while the ensemble evaluates the previous chunk. With ``workers`` or
``scheduler`` set, chunks run as tasks on a dask.distributed cluster; each
worker process loads the model bundle once. The final catalog is exported from
the journal, atomically, with a per-file error log beside it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from raveview.core.dask_cluster import dask_client, worker_count
from raveview.core.errors import RaveviewError, SpectrumDataError
from raveview.core.progress import Progress
from raveview.core.spectrum import Spectrum
from raveview.pipeline.journal import Journal

if TYPE_CHECKING:
    from raveview.core.photometry import PhotometryIndex
    from raveview.ml.predict import Resampled


@dataclass(frozen=True)
class BatchConfig:
    """What a batch run does.

    Parameters
    ----------
    inputs
        Files, folders (recursive), globs, multi-spectrum files or text files listing paths.
    out
        The catalog to write; its suffix picks the format unless ``format`` is given.
    model
        Model bundle folder; ``None`` uses the bundled demo model.
    photometry
        Photometry catalog joined by rave_obs_id or Gaia source_id; ``None``: spectroscopy only.
    format
        ``fits``, ``csv``, ``ecsv``, ``votable`` or ``parquet`` (default: from the suffix).
    resume
        Continue the run journaled next to ``out`` instead of starting a new one.
    chunk_size
        Input files per chunk (and per journal transaction).
    workers
        Start a local Dask cluster with this many worker processes.
    scheduler
        Address of a running Dask scheduler (``tcp://host:port``).
    calibrated
        Report calibrated uncertainties.
    min_coverage
        Minimum fraction of the model grid a spectrum must cover.
    """

    inputs: tuple[str, ...]
    out: Path
    model: Path | None = None
    photometry: Path | None = None
    format: str | None = None
    resume: bool = False
    chunk_size: int = 2048
    workers: int | None = None
    scheduler: str | None = None
    calibrated: bool = False
    min_coverage: float = 0.5


@dataclass
class ChunkResult:
    """What one chunk produced: catalog rows with their keys, finished inputs and failures."""

    frame: pd.DataFrame
    keys: list[str]
    inputs: list[str]
    failures: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchSummary:
    """The outcome of a run (the payload of the last Progress)."""

    out: Path
    error_log: Path
    journal: Path
    n_rows: int
    n_failed: int
    seconds: float
    interrupted: bool = False


def journal_path(out: Path) -> Path:
    """The journal kept next to a catalog: ``<out>.journal.sqlite``."""
    return out.with_name(out.name + ".journal.sqlite")


def error_log_path(out: Path) -> Path:
    """The per-file error log next to a catalog: ``<out>.errors.txt``."""
    return out.with_name(out.name + ".errors.txt")


# -- per-chunk work (plain functions: they also run on Dask workers) ---------------------------
@functools.lru_cache(maxsize=2)
def load_bundle(model: str | None):
    """The model bundle, loaded once per process (Dask workers reuse it across tasks)."""
    from raveview.ml.bundle import ModelBundle, demo_bundle_path

    return ModelBundle.load(model or demo_bundle_path())


@functools.lru_cache(maxsize=2)
def load_photometry(path: str | None) -> PhotometryIndex | None:
    """The photometry table with its id lookups (joined to every chunk), read once per process."""
    if path is None:
        return None
    from raveview.core.photometry import PhotometryIndex, read_photometry

    return PhotometryIndex(read_photometry(path))


def read_chunk(paths: Sequence[str], min_coverage: float, grid=None) -> tuple[list[Spectrum], list[str], dict[str, str]]:
    """Read the spectra of a chunk of files.

    Returns
    -------
    spectra, keys, failures
        One key per spectrum (the path, or ``path#i`` inside a multi-spectrum
        file), and path → one-line reason for each file that failed.
    """
    from raveview.core.grid import DEFAULT_GRID
    from raveview.core.io import read_spectrum
    from raveview.core.io.rave_dr6_fast import read_rave_dr6_fast
    from raveview.core.preprocess import grid_coverage

    grid = grid or DEFAULT_GRID
    spectra: list[Spectrum] = []
    keys: list[str] = []
    failures: dict[str, str] = {}
    for path in paths:
        try:
            got = read_rave_dr6_fast(path) or read_spectrum(path)
            items = got if isinstance(got, list) else [got]
            for i, spectrum in enumerate(items):
                key = path if len(items) == 1 and not isinstance(got, list) else f"{path}#{i}"
                coverage = grid_coverage(spectrum, grid)
                if coverage < min_coverage:
                    failures[key] = str(SpectrumDataError(
                        f"covers only {coverage:.0%} of the model grid {grid.start:.0f}–{grid.end:.0f} Å", path))
                    continue
                spectra.append(spectrum)
                keys.append(key)
        except RaveviewError as exc:
            failures[path] = str(exc)
        except Exception as exc:  # never let one file stop a survey run
            failures[path] = f"{path}: unexpected error ({type(exc).__name__}: {exc})"
    return spectra, keys, failures


def read_and_resample(paths: Sequence[str], min_coverage: float,
                      grid=None) -> tuple[list[Spectrum], list[str], dict[str, str], Resampled]:
    """:func:`read_chunk`, then the spectra resampled onto ``grid`` (the reader thread's whole job)."""
    from raveview.core.grid import DEFAULT_GRID
    from raveview.ml.predict import resample_chunk

    grid = grid or DEFAULT_GRID
    spectra, keys, failures = read_chunk(paths, min_coverage, grid)
    return spectra, keys, failures, resample_chunk(spectra, grid, min_coverage)


def predict_chunk(bundle, spectra: list[Spectrum], keys: list[str], photometry, calibrated: bool,
                  resampled: Resampled) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """Catalog rows for spectra read and resampled by :func:`read_and_resample`; rows the model could
    not take become failures."""
    from raveview.ml.predict import predict_resampled

    if not spectra:
        return pd.DataFrame(), [], {}
    frame = predict_resampled(bundle, spectra, resampled, photometry, calibrated)
    if len(frame) == len(keys):
        return frame, keys, {}
    # some spectra were dropped by the predictor: match rows back by (file, obs id)
    row_ids = list(zip(frame["source_file"], frame["rave_obs_id"]))
    wanted = {(str(s.source_file or ""), s.rave_obs_id): k for s, k in zip(spectra, keys)}
    kept = [wanted.get(r) for r in row_ids]
    failures = {k: f"{k}: rejected by the model input checks" for k in keys if k not in set(kept)}
    return frame, [k or "" for k in kept], failures


def process_chunk(paths: Sequence[str], model: str | None, photometry: str | None,
                  calibrated: bool, min_coverage: float) -> ChunkResult:
    """Read and predict one chunk (the unit of work of a Dask task)."""
    bundle = load_bundle(model)
    spectra, keys, failures, resampled = read_and_resample(paths, min_coverage, bundle.grid)
    frame, row_keys, more = predict_chunk(bundle, spectra, keys, load_photometry(photometry), calibrated, resampled)
    failures.update(more)
    return ChunkResult(frame, row_keys, list(paths), failures)


# -- the run ---------------------------------------------------------------------------------
def plan(config: BatchConfig, journal: Journal) -> tuple[list[str], list[str]]:
    """All input files, and those still to do (all of them for a new run)."""
    from raveview.core.io import expand_inputs

    paths = [str(p.resolve()) for p in expand_inputs(list(config.inputs))]
    done = journal.done_keys()
    return paths, [p for p in paths if p not in done]


def _open_journal(config: BatchConfig) -> Journal:
    path = journal_path(config.out)
    if path.exists() and not config.resume:
        raise RaveviewError(
            "a journal of an earlier run is here: pass --resume to continue it, or delete it to start over", path
        )
    journal = Journal(path)
    identity = {
        "model": str(Path(config.model).resolve()) if config.model else "demo",
        "photometry": str(Path(config.photometry).resolve()) if config.photometry else None,
        "calibrated": config.calibrated,
    }
    stored = journal.get_meta("identity")
    if stored is None:
        journal.set_meta("identity", identity)
    elif stored != identity:
        journal.close()
        raise RaveviewError(
            f"this journal was made with other settings ({stored}); resume with the same model, "
            "photometry and calibration, or delete it to start over", path
        )
    return journal


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _run_local(config: BatchConfig, todo: list[str], journal: Journal) -> Iterator[int]:
    """Read and resample the next chunk on a thread while the current one is predicted; yields files done."""
    bundle = load_bundle(str(config.model) if config.model else None)
    photometry = load_photometry(str(config.photometry) if config.photometry else None)
    chunks = _chunks(todo, config.chunk_size)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="raveview-reader") as pool:
        def read_ahead(index: int) -> Future | None:
            if index >= len(chunks):
                return None
            return pool.submit(read_and_resample, chunks[index], config.min_coverage, bundle.grid)

        ahead = read_ahead(0)
        for index, paths in enumerate(chunks):
            spectra, keys, failures, resampled = ahead.result()
            ahead = read_ahead(index + 1)
            frame, row_keys, more = predict_chunk(bundle, spectra, keys, photometry, config.calibrated, resampled)
            failures.update(more)
            _commit(journal, ChunkResult(frame, row_keys, paths, failures))
            yield len(paths)


def _run_dask(config: BatchConfig, todo: list[str], journal: Journal) -> Iterator[int]:
    """Chunks as tasks on a dask.distributed cluster; results stream back to the journal."""
    from dask.distributed import as_completed

    model = str(Path(config.model).resolve()) if config.model else None
    photometry = str(Path(config.photometry).resolve()) if config.photometry else None
    with dask_client(config.scheduler, config.workers) as client:
        chunks = iter(_chunks(todo, config.chunk_size))
        n_workers = worker_count(client, config.workers)
        pending = as_completed()
        for paths in _take(chunks, 2 * n_workers):  # bounded in-flight work keeps memory flat
            pending.add(client.submit(process_chunk, paths, model, photometry, config.calibrated,
                                      config.min_coverage, pure=False))
        for future in pending:
            result: ChunkResult = future.result()
            future.release()
            _commit(journal, result)
            for paths in _take(chunks, 1):
                pending.add(client.submit(process_chunk, paths, model, photometry, config.calibrated,
                                          config.min_coverage, pure=False))
            yield len(result.inputs)


def _take(iterator, n: int) -> list:
    out = []
    for _ in range(n):
        try:
            out.append(next(iterator))
        except StopIteration:
            break
    return out


def _commit(journal: Journal, result: ChunkResult) -> None:
    if len(result.frame):
        journal.record_chunk(result.frame, result.keys, result.failures, inputs=result.inputs)
    else:
        journal.record_failures(result.failures or {})
        done = [p for p in result.inputs if p not in (result.failures or {})]
        if done:  # files that held no usable spectrum but did not fail as a whole
            journal.record_chunk(pd.DataFrame(), [], None, inputs=done)


def export(config: BatchConfig, journal: Journal) -> tuple[int, int]:
    """Write the catalog and the error log from the journal; returns (rows, failures).

    The rows are streamed from the journal sorted by input key, a block at a
    time, into a temporary file that replaces ``config.out`` only once complete
    (VOTable and ECSV are assembled in memory: astropy writes them whole). The
    journal is only read, so a failed export loses nothing: run again with ``--resume``.
    """
    from raveview import __version__
    from raveview.core.catalog import default_provenance
    from raveview.core.catalog_stream import write_catalog_chunks

    bundle = load_bundle(str(config.model) if config.model else None)
    failures = journal.failures()
    provenance = default_provenance(
        model_id=bundle.id,
        model_name=bundle.name,
        model_sha256=bundle.sha256,
        model_trained_on=bundle.trained_on,
        raveview_version=__version__,
        inputs=" ".join(config.inputs)[:2000],
        photometry=str(config.photometry or ""),
        n_failed=len(failures),
    )
    n_rows = journal.n_rows()
    write_catalog_chunks(journal.catalog_chunks(), config.out, n_rows=n_rows, format=config.format,
                         provenance=provenance)
    log = error_log_path(config.out)
    tmp = log.with_name(log.name + ".tmp")
    tmp.write_text("".join(f"{key}\t{reason}\n" for key, reason in failures), encoding="utf-8")
    tmp.replace(log)
    return n_rows, len(failures)


def run_batch(config: BatchConfig) -> Iterator[Progress]:
    """Run a batch job, yielding progress after each chunk; the last payload is a :class:`BatchSummary`.

    Stopping the iteration (or Ctrl-C) between chunks leaves a journal that
    ``resume=True`` continues.
    """
    start = time.perf_counter()
    journal = _open_journal(config)
    try:
        paths, todo = plan(config, journal)
        total = len(paths)
        already = total - len(todo)
        yield Progress(already, total, f"{len(todo)} files to do, {already} done earlier")
        done = already
        runner = _run_dask if (config.workers or config.scheduler) else _run_local
        for n in runner(config, todo, journal):
            done += n
            yield Progress(done, total, f"{done}/{total} files")
        yield Progress(done, total, "writing the catalog")
        n_rows, n_failed = export(config, journal)
        summary = BatchSummary(config.out, error_log_path(config.out), journal.path, n_rows, n_failed,
                               time.perf_counter() - start)
        yield Progress(done, total, "done", payload=summary)
    finally:
        journal.close()
