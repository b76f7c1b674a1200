"""Provenance of exported plots: PNG text chunks written without Qt, read back by Qt and by us."""

from __future__ import annotations

import zlib
import struct

import pytest

from raveview import __version__
from raveview.core.errors import RaveviewError
from raveview.core.provenance import add_png_text, output_provenance, png_text, read_png_text


class _Bundle:
    id, name, sha256 = "mock-7f3a", "Demo model", "ab" * 32


def _png(path, width=3, height=2):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + bytes([200, 10, 10] * width) for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def test_provenance_names_model_version_and_inputs():
    prov = output_provenance(_Bundle(), inputs=["/a/b/star1.fits", "star2.fits"], plot="Kiel diagram")
    assert prov["software"] == f"raveview {__version__}"
    assert prov["model_id"] == "mock-7f3a" and prov["model_sha256"] == "ab" * 32
    assert prov["inputs"] == "star1.fits star2.fits" and prov["n_inputs"] == "2"
    assert prov["plot"] == "Kiel diagram" and prov["date"].endswith("Z")
    assert "model_id" not in output_provenance(None)


def test_png_text_round_trip(tmp_path):
    prov = output_provenance(_Bundle(), inputs=["s.fits"], note="Teff–logg ✓")  # non-Latin-1 → iTXt
    text = png_text(prov)
    path = add_png_text(_png(tmp_path / "plot.png"), text)
    back = read_png_text(path)
    assert back == text
    assert back["raveview:model_sha256"] == "ab" * 32 and back["raveview:note"] == "Teff–logg ✓"
    assert back["Software"].startswith("raveview ")


def test_qt_reads_the_chunks(tmp_path):
    pytest.importorskip("PySide6")
    from PySide6.QtGui import QImage

    path = add_png_text(_png(tmp_path / "plot.png"), png_text(output_provenance(_Bundle())))
    image = QImage(str(path))
    assert not image.isNull() and image.width() == 3
    assert image.text("raveview:model_id") == "mock-7f3a"
    assert image.pixelColor(0, 0).red() == 200


def test_bad_png_is_a_raveview_error(tmp_path):
    (tmp_path / "x.png").write_bytes(b"not a png")
    with pytest.raises(RaveviewError, match="not a PNG"):
        add_png_text(tmp_path / "x.png", {"a": "b"})
    data = _png(tmp_path / "y.png").read_bytes()
    (tmp_path / "y.png").write_bytes(data[:20])
    with pytest.raises(RaveviewError, match="truncated"):
        read_png_text(tmp_path / "y.png")
