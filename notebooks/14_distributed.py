# %% [markdown]
# # Elastic-SGD across processes and machines
#
# Sec. 4.3 of {cite}`chaudhari2018deep` shows that Elastic-SGD {cite}`zhang2015elastic`,
# $n$ replicas $y_i$ of the network each coupled to a reference $\bar x$, is equivalent
# to Entropy-SGD: the average over replicas (22) replaces the temporal average (19) of
# one chain. The homogenization chapter (Sec. 4) checked the limit on the one-dimensional loss of Figure 1, with
# simulated SDEs, and found that it holds for the corrected system, where every replica
# is coupled to a centre variable $x$ that follows their mean, and not for (21) as
# printed, where every replica is coupled to the replicas' own mean
# ({ref}`the homogenization chapter <errata-sec4-elastic-sgd>` and the Errata
# page). This chapter runs both on a real network
# with real processes: `deeprelax.train.distributed` makes each process one replica (LeNet and
# its Nesterov-SGD optimizer), forms the sum of the replicas with one collective, and is
# launched by `torchrun`, on one machine or several. Parle (Chaudhari et al., 2017,
# arXiv:1707.00424), Entropy-SGD inner loops on each replica plus the same coupling,
# is the same trainer with `--algorithm parle`.
#
# A *round* is one step of every replica on its own minibatch; every $\tau$ rounds the
# replicas are summed once and pulled towards the centre $\bar x$, which moves towards
# their mean:
#
# $$ \begin{aligned}
#    y_i &\leftarrow y_i - \eta\,\mathrm{Nesterov}_\delta\big(\nabla f_{\rm mb}(y_i)\big),\\
#    \bar y &= \tfrac1n \textstyle\sum_{j=1}^n y_j,\\
#    y_i &\leftarrow y_i - c_k\,(y_i - \bar x),\quad
#    \bar x \leftarrow \bar x - c_k\,(\bar x - \bar y),\\
#    c_k &= \min\big(1, \tau\eta/\gamma_k\big),\quad
#    \gamma_k = \gamma_0(1-\gamma_1)^k:
#    \end{aligned} $$
#
# each process steps on its own minibatch, one collective forms $\bar y$ every $\tau$
# rounds, and the third line is the Euler step over $\tau$ rounds of the corrected
# coupling, $dy_i = -\gamma^{-1}(y_i - x)\,ds$ and $dx = -\gamma^{-1}(x-\bar y)\,ds$.
# The contrast is (21) as printed, $\bar x = \bar y$ (`--reference mean`): that move
# keeps $\bar y$, and with $n=1$ it is exactly zero, so our SGD curve is one replica
# coupled to its own mean. $\bar x$ is what we evaluate, after re-estimating its
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
reference = None  # x̄: "centre" (corrected (21)) or "mean" (as printed)
tau = None        # communication period in rounds (None: the preset's 1)
gamma = None      # elastic gamma, coupling 1/gamma (None: the preset's 1.0)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from deeprelax.book.glue import glue_all
from deeprelax.chapters import ch14_distributed as ch14
from deeprelax.book.claims import report

P = ch14.Params.from_notebook(globals())
R = ch14.compute(P)
glue_all(ch14.prose_numbers(R))
P.frame()

# %% [markdown]
# ## The commands
#
# One machine, four processes (`--nproc-per-node` starts `torchrun --standalone`, a
# c10d rendezvous on this host; gloo on the CPU, NCCL with `--device cuda`, one GPU per
# process):
#
# ```
# python -m deeprelax elastic --nproc-per-node 4 \
#     --net lenet --preset paper
# ```
#
# The command exits with the ranks' outcome: 0 complete, 2 bad input, 3 stopped early
# (`--stop-after`), 5 a replica lost, 1 when torchrun failed before any rank could say
# why. The same run under torchrun directly,
# `torchrun --standalone --nproc-per-node 4 -m deeprelax elastic ...`, gives each rank
# these statuses, but torchrun itself exits 1 with its own report whenever a rank exits
# non-zero.
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
# again; a finished one writes its record again. A result file that holds another run's
# record (another world size or other settings) is refused before any work. On
# several machines the checkpoint folder (`--checkpoint-dir`) must be one shared folder,
# or each machine must get its ranks back (`--node-rank` with a static rendezvous);
# otherwise the restart stops with a message saying which rounds each rank holds.
#
# ## Elastic-SGD, SGD and Entropy-SGD at equal gradient evaluations
#
# {numref}`fig-ch14-elastic` shows LeNet ({glue:text}`n_parameters:,.0f` parameters) on
# an MNIST subset of {glue:text}`spe:.0f` minibatches of 128 per effective epoch, with
# {glue:text}`grads_total:.0f` gradient evaluations in all per curve: SGD ($n=1$),
# Elastic-SGD with $n=2$ and $4$ replicas coupled to the centre (solid) and to their
# own mean as printed (dotted), and Entropy-SGD (one replica of Parle, whose elastic
# term vanishes). On the right, the replicas' dispersion around their mean $\bar y$,
# beside a control that is wrong on purpose: the same replicas, with the same
# minibatches, never coupled ($\gamma = \infty$).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Left: validation error of the reference $\\bar x$ against effective epochs (all replicas' gradient evaluations, Remark 22) for SGD ($n=1$), Elastic-SGD with $n=2$ and $4$ replicas (solid: coupled to the centre, the corrected (21); dotted: to their own mean, as printed) and Entropy-SGD. Right: the dispersion of the replicas around their mean, coupled (solid) and never coupled (dashed, the control). Look at the right panel: the coupling holds the replicas together, while the uncoupled ones drift apart.", "name": "fig-ch14-elastic"}}
ch14.figure_elastic(R)
plt.show()

# %% [markdown]
# At equal gradient evaluations the centre's validation error is
# {glue:text}`err_2:.1f` % with two replicas and {glue:text}`err_4:.1f` % with four at
# the end, against {glue:text}`err_1:.1f` % for SGD and {glue:text}`err_esgd:.1f` % for
# Entropy-SGD; the printed form ends at {glue:text}`err_contrast_2:.1f` % and
# {glue:text}`err_contrast_4:.1f` %. More replicas start slower: each takes $1/n$ of the
# steps per effective epoch (with $n=4$, {glue:text}`rounds_per_epoch_max_n:.0f` rounds
# per effective epoch), and the centre is an exponential average of $\bar y$ with weight
# $c = \tau\eta/\gamma =$ {glue:text}`c:.2g` per round, so it trails $\bar y$ by about
# $(1-c)/c =$ {glue:text}`centre_lag:.0f` rounds.

# %% tags=["hide-input"]
ch14.errors_frame(R)

# %% [markdown]
# The equivalence of Sec. 4.3 is a limit: replicas fast against the centre
# ($\varepsilon \to 0$) and run long enough for the averages (22) to settle. The homogenization chapter
# checks it there. A few dozen rounds are far from it, and the validation errors
# cannot tell the forms apart: the printed coupling, and even replicas that are never
# coupled and only averaged ({glue:text}`err_uncoupled_4:.1f` % with $n=4$), end within
# a few points of the centre, on either side of it. A bound on these errors that the right algorithm passes
# would be passed by the wrong ones too, so they are shown, not claimed. What a wrong
# coupling does change is the dispersion. Both forms pull every $y_i - \bar y$ back by
# the factor $1-c$ per round, an Ornstein–Uhlenbeck pull: after $k$ rounds of
# independent steps of size $\sigma$, a coupled deviation settles near
# $\sigma/\sqrt{2c}$ while an uncoupled one grows like $\sigma\sqrt k$. The ratio of
# the two is about $1/\sqrt{2ck}$, {glue:text}`coupling_pred_2:.2f` for $n=2$ and
# {glue:text}`coupling_pred_4:.2f` for $n=4$ here, below 1; a missing coupling gives 1
# and a coupling of the wrong sign more. The claims below check that the coupled
# replicas' dispersion ({glue:text}`dispersion_2:.2f` and
# {glue:text}`dispersion_4:.2f`) stays below the control's
# ({glue:text}`dispersion_uncoupled_2:.2f` and {glue:text}`dispersion_uncoupled_4:.2f`).
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
# The launches take their sums in rank order (`--set reduction=rank-order`: an
# all_gather, then $((y_1 + y_2) + y_3) + y_4$ as the simulation adds them), so every
# process does the simulation's operations on the same numbers in the same order, with
# one thread each, and the records are equal bit for bit on any CPU. The production
# path sums with one all_reduce, in the order of gloo's ring; the last row repeats $n=4$
# that way, in float32: its records differ from the simulation by a relative
# {glue:text}`all_reduce_rel_diff:.1e`. That number is not a check of the algorithm.
# Each sum of $n$ terms differs from the rank-order one by at most
# $2\gamma_{n-1}\sum_i|y_i|$, $\gamma_k = ku/(1-ku)$ with $u = 2^{-24}$, a relative
# $4\cdot10^{-7}$ for $n=4$ (the tests assert this bound for gloo's all_reduce in
# float32 and float64), and training then amplifies such differences over the rounds, by
# a factor that depends on which ReLU and max-pool switches the round-off happens to
# flip, that is, on the CPU's kernels. A tolerance on it would measure the machine, so
# the page shows it and asserts the bit-for-bit runs. The tests
# (`tests/test_distributed.py`) also check that a group of one coupled to its own mean is
# `torch.optim.SGD` with Nesterov momentum bit for bit, that a run killed by SIGKILL and
# resumed ends with the numbers of an uninterrupted one, bit for bit, and that a
# rendezvous that never forms ends within its `join_timeout`.
#
# A replica that dies closes its sockets, and the next collective of the others fails at
# once; a replica that hangs holds them for the process-group timeout (`--timeout`, 120 s
# by default). Either way each survivor stops with one line, "replica lost: rank ... of
# ... stopped in round ...", and exits with status 5; torchrun ends the group, and the
# JSON keeps every record written before, with the error (written before a second
# signal from torchrun is heeded). {numref}`fig-ch14-scaling` gives the time from the
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
# two cores, and each round adds a collective over the whole parameter vector. What a
# run communicates is the same on any machine: {glue:text}`payload_bytes:,.0f` bytes
# per all_reduce (131,220 float32 parameters), of which a ring all_reduce sends
# $2(n-1)/n$ from each rank (the rank-order all_gather receives $n-1$ times the payload
# instead). With $\tau=1$ and $n=4$ that is {glue:text}`rounds_per_epoch_max_n:.0f`
# all_reduces per effective epoch; $\tau$ divides the traffic and leaves the gradient
# count alone.

# %% tags=["hide-input"]
ch14.bytes_frame(R)

# %% [markdown]
# ## Choices we made
#
# - **The reference.** Zhang et al.'s centre variable, the corrected form of (21)–(22)
#   ({ref}`the homogenization chapter <errata-sec4-elastic-sgd>`, Errata), with the same step $c_k$ for
#   the replicas and the centre; $\bar x = \bar y$ as printed, and as Parle uses it, is
#   `--reference mean`, run here as the contrast and for the SGD curve ($n=1$).
# - **The sums.** One all_reduce in production (`reduction=all_reduce`, the default);
#   the launches compared with the simulation gather the replicas and add them in rank
#   order, so that the comparison is exact.
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
