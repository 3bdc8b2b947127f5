"""Training deep networks (Sec. 8): imports only the base modules and its own.

Stand-alone: ``optim`` (Entropy-SGD, HJ, HEAT, Nesterov SGD as ``torch.optim`` classes;
the registry ``optim.OPTIMIZERS``), ``models`` (mnistfc, LeNet, All-CNN-C+BN; no dataset),
``data`` and ``cifar`` (checksum-verified datasets).
The multi-seed engine, by concern: ``rng`` (keyed random streams), ``config``
(``TrainParams``), ``checkpoint`` (verified checkpoints, clean stops), ``trainer``
(``MultiSeedTrainer``), ``engine`` (``train``).
What is trained and how it is read: ``experiments`` (every Table 1 experiment, a run
planned once), ``records`` (reading a result), ``table1`` (the paper's table, our rows),
``campaign`` (the MNIST cells as single-seed units on the CPU), ``width`` (the width of
minima, chapter 13), ``hessian`` (curvature at a minimum), ``distributed`` (Elastic-SGD
over processes).
"""
