"""The book's plumbing: ``glue`` (numbers for the prose), ``claims`` (named checks, the
scorecard), ``plotting`` (one figure style), ``bibliography`` (the Sphinx extension).
Imports the base modules and the PDE core only."""
