"""Provenance of every output: model bundle (id, SHA-256), raveview version, inputs.

The catalog writer (:func:`raveview.core.catalog.write_catalog`) and the batch
export store a provenance dictionary already; this module builds the same
dictionary for anything else raveview exports (plots, screenshots) and
writes it into PNG files as text chunks, without Qt::

    prov = output_provenance(bundle, inputs=["star1.fits"], plot="Kiel diagram")
    figure.savefig("kiel.png", metadata=png_text(prov))   # matplotlib
    image.setText(key, value) for key, value in png_text(prov).items()   # Qt QImage
    add_png_text("kiel.png", png_text(prov))              # any PNG already written
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from raveview.core.errors import RaveviewError

__all__ = ["output_provenance", "png_text", "add_png_text", "read_png_text", "PNG_PREFIX"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Prefix of raveview's PNG text keywords (besides the standard "Software" and "Source").
PNG_PREFIX = "raveview:"


def output_provenance(bundle: Any = None, inputs: Iterable[str | PathLike[str]] = (), **extra: Any) -> dict[str, str]:
    """Provenance of an output: software version, UTC date, model bundle and inputs.

    Parameters
    ----------
    bundle
        A :class:`raveview.ml.bundle.ModelBundle` (anything with ``id``, ``name``,
        ``sha256``), or ``None`` when no model was involved.
    inputs
        The input files; stored as their names joined by spaces (at most 2000 characters).
    extra
        Further items (e.g. ``plot="Kiel diagram"``).
    """
    from raveview.core.catalog import default_provenance

    items: dict[str, Any] = {}
    if bundle is not None:
        items.update(model_id=getattr(bundle, "id", ""), model_name=getattr(bundle, "name", ""),
                     model_sha256=getattr(bundle, "sha256", ""))
    names = [Path(p).name for p in inputs]
    if names:
        items["inputs"] = " ".join(names)[:2000]
        items["n_inputs"] = len(names)
    items.update(extra)
    return default_provenance(**items)


def png_text(provenance: Mapping[str, str]) -> dict[str, str]:
    """PNG text chunks of ``provenance``: ``Software`` plus ``raveview:<key>`` for every item."""
    chunks = {"Software": str(provenance.get("software", "raveview"))}
    if "model_id" in provenance:
        chunks["Source"] = f"raveview model {provenance['model_id']}"
    chunks.update({f"{PNG_PREFIX}{key}"[:79]: str(value) for key, value in provenance.items()})
    return chunks


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _text_chunk(keyword: str, text: str) -> bytes:
    key = keyword.encode("latin-1", errors="replace")[:79]
    try:
        return _chunk(b"tEXt", key + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:  # international text: iTXt, uncompressed UTF-8
        return _chunk(b"iTXt", key + b"\0\0\0\0\0" + text.encode("utf-8"))


def _chunks(data: bytes, path: Path) -> list[tuple[bytes, bytes, int, int]]:
    if not data.startswith(_SIGNATURE):
        raise RaveviewError("not a PNG file", path)
    out, pos = [], len(_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            raise RaveviewError("the PNG file is truncated", path)
        out.append((kind, data[pos + 8:pos + 8 + length], pos, end))
        pos = end
        if kind == b"IEND":
            break
    if not out or out[0][0] != b"IHDR":
        raise RaveviewError("the PNG file has no IHDR chunk", path)
    return out


def add_png_text(path: str | PathLike[str], text: Mapping[str, str]) -> Path:
    """Add text chunks to the PNG file ``path`` in place (after its header chunk).

    Raises
    ------
    RaveviewError
        The file is not a readable PNG.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RaveviewError(f"cannot read the image ({exc.strerror or exc})", path) from None
    header_end = _chunks(data, path)[0][3]
    extra = b"".join(_text_chunk(k, v) for k, v in text.items())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data[:header_end] + extra + data[header_end:])
    tmp.replace(path)
    return path


def read_png_text(path: str | PathLike[str]) -> dict[str, str]:
    """The ``tEXt``, ``iTXt`` and ``zTXt`` chunks of a PNG file."""
    path = Path(path)
    out: dict[str, str] = {}
    for kind, body, _start, _end in _chunks(path.read_bytes(), path):
        key, _, rest = body.partition(b"\0")
        if kind == b"tEXt":
            out[key.decode("latin-1")] = rest.decode("latin-1")
        elif kind == b"zTXt":
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _tkey, _, value = rest.partition(b"\0")
            out[key.decode("latin-1")] = (zlib.decompress(value) if compressed else value).decode("utf-8")
    return out
