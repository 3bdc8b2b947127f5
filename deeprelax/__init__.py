"""deeprelax: a reproducible replication of *Deep Relaxation* (Chaudhari et al., 2017).

A folder per layer; an import only ever points to the same folder or down
(``tests/test_layers.py`` holds it):

- base (this folder): ``params`` (validated parameter sets), ``runtime`` (devices, seeds,
  threads, progress bars), ``stats`` (order fits, confidence intervals), ``paths`` (every
  name under ``results/`` and ``runs/``), ``results`` (atomic, checksummed JSON,
  provenance), ``__main__`` (the command line);
- ``pde``: the PDE/SDE core of Secs. 2–6, no training code;
- ``train``: the optimizers (``train.optim``, stand-alone ``torch.optim`` classes), the
  networks, the checksum-verified data, the multi-seed engine, the experiments of Table 1,
  Hessian tools and distributed Elastic-SGD;
- ``book``: the book's plumbing (glue, claims, plotting, the bibliography style);
- ``chapters``: one module per book chapter (``chapters.ch04_homogenization`` for
  ``notebooks/04_homogenization.ipynb``), each with ``Params``, ``compute``, ``claims`` and
  ``figure_*``; they compose everything above and nothing imports them.

CLI: ``python -m deeprelax``.
"""
__version__ = "0.1.0"
