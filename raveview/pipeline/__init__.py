"""Batch jobs: parameterizing many spectra, journaling results, distributing work."""
