"""Training deep networks (Sec. 8): imports only the base modules and its own.

``optim`` (Entropy-SGD, HJ, HEAT, Nesterov SGD as ``torch.optim`` classes; stand-alone),
``models`` (mnistfc, LeNet, All-CNN-C+BN; no dataset), ``data`` and ``cifar``
(checksum-verified datasets), ``engine`` (multi-seed training), ``table1`` (the
experiments of Table 1, admission, the CSV), ``campaign`` (Table 1's MNIST cells as
single-seed units on the CPU), ``hessian`` (curvature at a minimum), ``distributed``
(Elastic-SGD over processes).
"""
