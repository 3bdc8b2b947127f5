# %% [markdown]
# # Elastic-SGD across processes and machines
#
# Sec. 4.3 of {cite}`chaudhari2018deep` shows that Elastic-SGD {cite}`zhang2015elastic`,
# $n$ replicas $y_i$ of the network each coupled to their average, is equivalent to
# Entropy-SGD: the average over replicas (22) replaces the temporal average (19) of one
# chain. Chapter 04 checked the limit on the one-dimensional loss of Figure 1, with
# simulated SDEs. This chapter runs it on a real network with real processes:
# `deeprelax.distributed` makes each process one replica (LeNet and its Nesterov-SGD
# optimizer), forms the average with `torch.distributed.all_reduce`, and is launched by
# `torchrun`, on one machine or several. Parle (Chaudhari et al., 2017,
# arXiv:1707.00424), Entropy-SGD inner loops on each replica plus the same coupling,
# is the same trainer with `--algorithm parle`.
#
# A *round* is one step of every replica on its own minibatch; every $\tau$ rounds the
# replicas are summed once and pulled towards the reference $\bar x$:
#
# $$ \begin{aligned}
#    y_i &\leftarrow y_i - \eta\,\mathrm{Nesterov}_\delta\big(\nabla f_{\rm mb}(y_i)\big),\\
#    \bar y &= \tfrac1n \textstyle\sum_{j=1}^n y_j,\\
#    y_i &\leftarrow y_i - c_k\,(y_i - \bar x),\\
#    c_k &= \min\big(1, \tau\eta/\gamma_k\big),\quad
#    \gamma_k = \gamma_0(1-\gamma_1)^k:
#    \end{aligned} $$
#
# each process steps on its own minibatch, one all_reduce forms $\bar y$ every $\tau$
# rounds, and the last line is the Euler step of the coupling $\gamma^{-1}(y_i - \bar y)$ of (21) over $\tau$
# rounds, with $\bar x = \bar y$ as printed (a centre variable moved by
# $dx = -\gamma^{-1}(x-\bar y)\,ds$, the corrected form of chapter 04, is
# `--reference centre`). The move keeps $\bar y$, and with $n=1$ it is exactly zero:
# one replica is plain SGD. $\bar x$ is what we evaluate, after re-estimating its
# batch-norm statistics on the training set as the training engine does.
#
# An *effective epoch* counts the gradients of all replicas together (Remark 22): with
# $n$ replicas it is $\lceil N/b\rceil / n$ rounds, so curves with different $n$ are
# compared at equal numbers of gradient evaluations. The computations are in
# `deeprelax.chapters.ch14_distributed`.

# %% tags=["parameters", "hide-input"]
preset = "fast"   # "fast" (CPU, MNIST subset) or "paper" (all MNIST, a GPU)
device = "cpu"    # device of the one-process runs ("cpu" or "cuda")
replicas = None   # Elastic-SGD replica counts n (None: the preset's (1, 2, 4))
tau = None        # communication period in rounds (None: the preset's 1)
gamma = None      # elastic gamma, coupling 1/gamma (None: the preset's 1.0)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book import glue_all
from deeprelax.chapters import ch14_distributed as ch14
from deeprelax.claims import report

P = ch14.Params.from_notebook(globals())
R = ch14.compute(P)
glue_all(ch14.prose_numbers(R))
P.frame()

# %% [markdown]
# ## The commands
#
# One machine, four processes (`--standalone` forms a c10d rendezvous on this host;
# gloo on the CPU, NCCL with `--device cuda`, one GPU per process):
#
# ```
# torchrun --standalone --nproc-per-node 4 \
#     -m deeprelax elastic --net lenet --preset paper
# ```
#
# Two machines, two processes each: the same command on both, with the address of one
# of them as the rendezvous endpoint (`join_timeout` ends a rendezvous that never forms
# after 60 s with `RendezvousTimeoutError`):
#
# ```
# torchrun --nnodes 2 --nproc-per-node 2 \
#     --rdzv-backend c10d --rdzv-endpoint HOST:29400 --rdzv-id job1 \
#     --rdzv-conf join_timeout=60 \
#     -m deeprelax elastic --net lenet --preset paper
# ```
#
# This chapter runs the two-machine form as two local "nodes", two torchrun agents on
# this machine with a c10d rendezvous on 127.0.0.1:
#
# ```
# for node in 0 1; do
#   torchrun --nnodes 2 --nproc-per-node 1 \
#       --rdzv-backend c10d --rdzv-endpoint 127.0.0.1:29400 \
#       --rdzv-id local --rdzv-conf join_timeout=60 \
#       -m deeprelax elastic --preset fast &
# done; wait
# ```
#
# Rank 0 writes one JSON record (atomically, after every effective epoch) with the world
# size, the number of nodes, the backend and the communication period; every rank
# checkpoints its replica. A stopped or killed run resumes when the same command is run
# again. On several machines the checkpoint folder (`--checkpoint-dir`) must be one
# shared folder, or each machine must get its ranks back (`--node-rank` with a static
# rendezvous); otherwise the restart stops with a message saying which rounds each rank
# holds.
#
# ## Elastic-SGD, SGD and Entropy-SGD at equal gradient evaluations
#
# {numref}`fig-ch14-elastic` shows LeNet ({glue:text}`n_parameters:,.0f` parameters) on
# an MNIST subset of {glue:text}`spe:.0f` minibatches of 128 per effective epoch, with
# {glue:text}`grads_total:.0f` gradient evaluations in all per curve: SGD ($n=1$),
# Elastic-SGD with $n=2$ and $4$, and Entropy-SGD (here one replica of Parle, whose
# elastic term vanishes).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Left: validation error of the reference $\\bar x$ against effective epochs (all replicas' gradient evaluations, Remark 22) for SGD ($n=1$), Elastic-SGD with $n=2$ and $4$ replicas and Entropy-SGD. Right: the spread of the replicas around $\\bar x$. Look at the left panel: at equal gradient evaluations the curves end close together; on the right, more replicas spread further.", "name": "fig-ch14-elastic"}}
ch14.figure_elastic(R)
plt.show()

# %% [markdown]
# At equal gradient evaluations the reference of Elastic-SGD closes in on SGD: its
# validation error is {glue:text}`err_2:.1f` % with two replicas and
# {glue:text}`err_4:.1f` % with four at the end, against {glue:text}`err_1:.1f` % for
# SGD and {glue:text}`err_esgd:.1f` % for Entropy-SGD (differences
# {glue:text}`gap_2:.1f` and {glue:text}`gap_4:.1f` points from SGD, down from
# {glue:text}`gap0_2:.1f` and {glue:text}`gap0_4:.1f` after the first effective epoch).
# More replicas start slower: each takes $1/n$ of the steps per effective epoch, and
# their average gains only as far as the replicas go the same way. The coupling keeps the replicas together: their spread
# around $\bar x$ stays below {glue:text}`rel_spread_max_4:.0%` of $|\bar x|
# \approx$ {glue:text}`xbar_norm:.0f` ({glue:text}`spread_2:.2f` for $n=2$ and
# {glue:text}`spread_4:.2f` for $n=4$ at the end).
#
# What the equivalence of Sec. 4.3 predicts here is modest. With $\bar x = \bar y$ the
# elastic move cancels in the average, so $\bar y$ descends with the mean of the
# replicas' gradients taken at points spread around it, an average of gradients over a
# cloud of perturbations as in the HEAT update (35), not the local-entropy gradient
# (Remark 8 locates the difference in exactly this term). Chapter 04 shows that this
# printed coupling does not homogenize to $\nabla f_\gamma$, while the centre variable
# does ({ref}`chapter 04 <errata-sec4-elastic-sgd>`). On this budget all of them are SGD-like per
# gradient evaluation, which is what the figure shows.
#
# ## The same runs across processes
#
# The curves above come from the one-process simulation of the replicas
# (`distributed.simulate`: the same replicas, streams and arithmetic, summed in rank
# order). The torchrun launches below run the first effective epochs of the same
# configurations: $n=2$ as two local nodes, killed in the middle and resumed, and $n=4$
# on one node. Each replica draws its minibatches and dropout masks from streams keyed by
# its rank, so a run is a function of its parameters and world size only.

# %% tags=["hide-input"]
ch14.agreement_frame(R)

# %% [markdown]
# The two-node run, killed and resumed from its checkpoint, gives the simulation's
# numbers exactly; with four processes the sums of gloo's ring all_reduce are taken in
# another order, and the records agree to a relative {glue:text}`launch_max_rel:.0e`
# in float32. The tests (`tests/test_distributed.py`) check the same with three gloo
# processes in float64 (relative difference at most $10^{-12}$ in every record and in
# every replica's final parameters), that a group of one is `torch.optim.SGD` with
# Nesterov momentum bit for bit, that a run killed by SIGKILL and resumed ends with the
# numbers of an uninterrupted one, and that a rendezvous that never forms ends within its
# `join_timeout`.
#
# A replica that dies closes its sockets, and the next all_reduce of the others fails at
# once; a replica that hangs holds them for the process-group timeout (`--timeout`, 120 s
# by default). Either way each survivor stops with one line, "replica lost: rank ... of
# ... stopped in round ...", torchrun ends the group, and the JSON keeps every record
# written before (with the error). {numref}`fig-ch14-scaling` gives the time from the
# kill to the message in the run above.
#
# ## What this machine can show
#
# Per effective epoch the number of gradients is fixed, so with $n$ processes on $n$
# free cores the wall time would fall like $1/n$. This machine has two cores, shared
# with whatever else runs on it: the title of {numref}`fig-ch14-scaling` gives the load
# during the launches. On an idle machine two processes can at best halve the time of
# one, and four processes take turns on two cores; on a loaded one each process gets
# a share of the cores, so the bars measure the machine's load as much as the method.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Wall time of the rounds per effective epoch (rank 0's clock, evaluation excluded) against the number of replicas $n$: $n=1$ one process, $n=2$ the two-node launch (killed and resumed), $n=4$ four processes on one node; the dashed line is the ideal time$(n=1)/n$. Look at where the bars leave the dashed line: a 2-core machine cannot go below half the one-process time, and with four processes on two cores the replicas take turns. The note gives the time from the killed replica to the other's error.", "name": "fig-ch14-scaling"}}
ch14.figure_scaling(R)
plt.show()

# %% [markdown]
# Beyond two processes this machine cannot scale, whatever the load: four replicas share
# two cores, and each round adds an all_reduce of the whole parameter vector. What a run
# communicates is the same on any machine: {glue:text}`payload_bytes:,.0f` bytes per all_reduce (131,220
# float32 parameters), of which a ring all_reduce sends $2(n-1)/n$ from each rank. With
# $\tau=1$ and $n=4$ that is {glue:text}`rounds_per_epoch_max_n:.0f` all_reduces per
# effective epoch; $\tau$ divides the traffic and leaves the gradient count alone.

# %% tags=["hide-input"]
ch14.bytes_frame(R)

# %% [markdown]
# ## Choices we made
#
# - **The reference.** $\bar x = \bar y$, the replicas' mean, as (21) is printed and as
#   Parle uses it; Zhang et al.'s centre variable (the corrected form of chapter 04)
#   is the option `--reference centre`.
# - **The coupling** acts as a separate move after the optimizer step, beside the
#   momentum (as in Zhang et al.'s momentum variant), with the step $c_k$ of the
#   coupling $1/\gamma_k$ over $\tau$ rounds; $\gamma$ is scoped per round
#   (Sec. 7.5; $\gamma_1 = 0$ here, so the coupling is constant).
# - **Minibatches.** Every replica draws its own minibatches from the whole training set,
#   keyed by its rank (no sharding); a world size whose one round, $n\cdot L$ gradients,
#   exceeds an effective epoch is refused.
# - **Evaluation.** Only rank 0 evaluates $\bar x$; its batch-norm statistics are
#   re-estimated on the training set (one batch of 1,000 images in the fast preset).
# - **Entropy-SGD** is one Parle replica with the authors' Lua settings (outer step
#   $x - \langle y\rangle$, inner Nesterov 0.9, $\eta=1$) and $L=5$ in the fast preset
#   so that a few effective epochs hold enough outer steps ($L=20$ in `paper`).
# - **The fast preset** uses the first 2,560 training and 1,000 validation images and
#   4 effective epochs; `paper` uses all of MNIST for 100 (a GPU; its torchrun commands
#   are the ones above).
#
# ## Claims checked in this chapter

# %% tags=["hide-input"]
report(ch14.claims(R))
