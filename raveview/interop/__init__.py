"""Interoperability with other astronomy tools (Qt-free): SAMP with TOPCAT, Aladin, SPLAT."""

from raveview.interop.samp import SampError, SampLink, spectrum_table

__all__ = ["SampError", "SampLink", "spectrum_table"]
