"""deeprelax: a reproducible replication of *Deep Relaxation* (Chaudhari et al., 2017).

Layers (each imports only the ones above it):
- PDE/SDE core: ``landscapes``, ``heat``, ``local_entropy``, ``hopf_lax``, ``fd``,
  ``fokker_planck`` (no training code);
- data: ``data`` (datasets, checksums); results: ``results`` (JSON, provenance);
- chapters' computations: ``figure1``; plotting: ``plotting`` (reads results and the core).
"""
__version__ = "0.1.0"
