"""Qt-free core: spectra, readers, wavelength grids, photometry and catalogs."""
