"""deeprelax: a reproducible replication of *Deep Relaxation* (Chaudhari et al., 2017).

Layers (``tests/test_layers.py`` enforces them):

- base: ``params`` (validated parameter sets), ``claims`` (named checks), ``stats`` (order
  fits, confidence intervals), ``runtime`` (devices, seeds, progress bars), ``book`` (glue);
- PDE/SDE core, no training code: ``landscapes`` (test losses), ``heat`` (Gaussian
  convolution, eq. (23)), ``local_entropy`` (Cole-Hopf, eq. (11)), ``hopf_lax`` (eq. (HL)),
  ``prox`` (prox (14), dynamics (16)), ``gibbs`` (measures (13), Lemma 4), ``fd`` (monotone
  schemes for viscous-HJ, HJ, heat, HJB), ``fokker_planck`` (FP, eq. (26)), ``burgers``
  (Example 15), ``semiconcavity`` (Sec. 6), ``sde`` (SGD, Entropy-SGD(-2), HEAT, Elastic-SGD,
  CSGD), ``grid`` (grid fields, RK4 flow), ``hjb`` ((HJB) and the system (26));
- training: ``optim`` (Entropy-SGD, HJ, HEAT, Nesterov SGD; stand-alone), ``models``
  (mnistfc, LeNet, All-CNN-C+BN; no dataset), ``engine`` (multi-seed training, composes
  optimizers, models and results), ``table1`` (Table 1 experiments and CSV), ``data`` and
  ``cifar`` (checksum-verified datasets), ``results`` (atomic JSON, provenance);
- ``plotting`` reads results and the core only;
- ``chapters``: one module per book chapter (``chapters.ch04_homogenization`` for
  ``notebooks/04_homogenization.ipynb``), each with ``Params``, ``compute``, ``claims`` and
  ``figure_*``; they compose everything above and nothing imports them.

CLI: ``python -m deeprelax``.
"""
__version__ = "0.1.0"
