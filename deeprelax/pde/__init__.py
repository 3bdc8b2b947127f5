"""The PDE/SDE core (Secs. 2–6): imports only the base modules, knows nothing of training.

``landscapes`` (test losses), ``heat`` (Gaussian convolution, eq. (23)), ``local_entropy``
(Cole–Hopf, eq. (11)), ``hopf_lax`` (eq. (HL)), ``prox`` (prox (14), dynamics (16)),
``gibbs`` (measures (13), Lemma 4), ``fd`` (monotone schemes for viscous-HJ, HJ, heat,
HJB), ``fokker_planck`` (FP, eq. (26)), ``burgers`` (Example 15), ``semiconcavity``
(Sec. 6), ``sde`` (SGD, Entropy-SGD(-2), HEAT, Elastic-SGD, CSGD), ``grid`` (grid fields,
RK4 flow), ``hjb`` ((HJB) and the system (26)).
"""
