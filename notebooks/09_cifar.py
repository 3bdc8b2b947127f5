# %% [markdown]
# # Sec. 8.3: All-CNN on CIFAR-10
#
# The last row of Table 1 {cite}`chaudhari2018deep` trains All-CNN-C
# {cite}`springenberg2014striving` with batch normalisation {cite}`ioffe2015batch` on
# CIFAR-10 {cite}`krizhevsky2009learning`, pre-processed by global contrast normalisation
# {cite}`coates2010analysis` and ZCA whitening, with the four algorithms of Sec. 7, six seeds
# each. Figure 5 shows the training loss and the validation error against *effective
# epochs* (epochs × L, Remark 22).
#
# **What this chapter can and cannot show.** The full CIFAR-10 cannot be downloaded on the
# machines that build this book. The repository's data folder holds a SUBSET of genuine
# bytes of the standard release: all 60,000 labels and the first
# {glue:text}`n_subset_train:,` training and {glue:text}`n_subset_test:,` test images. We
# use it to run the real pipeline (loading, GCN, ZCA, All-CNN-C, the optimizers and the
# multi-seed engine) on real pixels, and for a clearly labelled small-data experiment.
# The Table 1 row itself needs the full data set and a GPU.
#
# Everything below calls `deeprelax.train`: `cifar` (verified loading, GCN + ZCA),
# `models.allcnn`, `experiments` (All-CNN's settings beside the MNIST rows', trained by the
# same engine), and `chapters.ch09_cifar`, which draws this page's tables and figures. The GPU runs are started from the command line, `python -m deeprelax cifar`.

# %% tags=["parameters", "hide-input"]
preset = "fast"     # "fast": CPU smoke run and results/; "paper": results/ only
device = "cpu"      # "cuda" for training (train: "subset" or "full")
train = None        # "subset": small-data experiment; "full": the Table 1 row
data_dir = None     # folder with the full CIFAR-10; None: $DEEPRELAX_DATA
smoke = None        # run the CPU smoke run; None keeps the preset value
max_minutes = None  # stop training after this long (resumable); None: no limit
results_dir = None  # results folder (train/, cifar10-subset/); None: results/
n_show = None       # subset images shown; None keeps the preset value

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
from IPython.display import Markdown

from deeprelax.book.glue import glue, glue_all
from deeprelax.chapters import ch08_mnist as ch08
from deeprelax.chapters import ch09_cifar as ch09
from deeprelax.book.claims import report

P = ch09.Params.from_notebook(globals())
R = ch09.compute(P)
glue_all(ch09.measures(R))
glue("fig5_state", Markdown(ch09.figure_state(R)))
P.frame()

# %% tags=["remove-input"] mystnb={"markdown_format": "myst"}
Markdown(ch09.pending_note(R))

# %% [markdown]
# ## The data
#
# `cifar.load_cifar10(data_dir)` loads the full release from a folder holding
# `cifar-10-batches-py/` (or `cifar-10-python.tar.gz`, or the binary release). Every python
# batch's md5 is compared with the standard checksum *before* it is unpickled, and the
# unpickler accepts only NumPy arrays, lists and strings; a missing or corrupt file gives
# one message saying what to put where. `cifar.load_cifar10_subset()` loads the subset,
# whose name says so wherever it goes; its 50,000 training labels hold 5,000 images of
# each class, as the full release does.
#
# ## Global contrast normalisation and ZCA whitening (Sec. 8.1.1)
#
# Each image $x\in\mathbb R^{3072}$ is centred and divided by its standard deviation
# (ddof 1). ZCA is then fitted on the training images: with $\lambda_i, u_i$ the
# eigenpairs of their covariance (ddof 1) and $S_i=\sqrt{\lambda_i}$,
#
# $$ W = U\,\mathrm{diag}\big(1/(S_i + 10^{-5})\big)\,U^\top,
#    \qquad y = W (x - \bar x_{\rm train}). $$
#
# $W$ is symmetric: among all whitening matrices it is the one that moves the data least,
# so whitened images still look like images (unlike PCA whitening), which suits
# convolutions ({numref}`fig-ch09-whitening`). The test set is whitened with the
# *training* mean and matrix. The computation runs in float64 with torch (on the GPU when
# there is one) and is cached on disk under a hash of the pixels and the constants.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The first training images of the CIFAR-10 subset: raw (top), after global contrast normalisation (middle) and after GCN + ZCA whitening (bottom), each image rescaled to [0, 1] for display. GCN changes only contrast and brightness; ZCA keeps the edges and outlines, so the whitened images still look like images.", "name": "fig-ch09-whitening"}}
ch09.figure_preprocessing(R)
plt.show()

# %% [markdown]
# What whitening achieves, measured on the subset. GCN removes each image's mean, so the
# constant image is a direction of zero variance: one eigenvalue is zero and the other
# {glue:text}`zca_n_retained:,` are *retained*, from {glue:text}`zca_lam_min:.3g` to
# {glue:text}`zca_lam_max:.3g`. On them the whitened training covariance is
# $\lambda_i/(\sqrt{\lambda_i}+10^{-5})^2$, which at the smallest retained $\lambda$ is
# {glue:text}`zca_pred_min:.4f`; each pixel's whitened variance is then close to
# $1 - 1/3072$ (the identity minus the removed constant direction): they lie between
# {glue:text}`zca_var_train_min:.4f` and {glue:text}`zca_var_train_max:.4f`. The test
# images, whitened with the training statistics, have a mean per-pixel variance of
# {glue:text}`zca_var_test_mean:.2f`: with only {glue:text}`n_subset_train:,` training
# images, the directions of the smallest training eigenvalues are poorly estimated and
# ZCA amplifies them on new images (a property of this subset; the full 50,000 images
# estimate the covariance far better). The unit tests (`tests/test_cifar.py`) check the
# full covariance matrix.
#
# ## All-CNN-C with batch-norm
#
# `models.allcnn()` follows Sec. 8.3 with the layer order of the authors' code (each
# convolution followed by BN and ReLU, the last 1×1 convolution too). Its parameter count,
# {glue:text}`params_allcnn:,`, is the paper's "1.67 million".
#
# Before every evaluation the batch-norm statistics are re-estimated by a pass over the
# training set in train mode with dropout off, for every algorithm: the inner loops of
# Entropy-SGD, HJ and HEAT run forward passes at perturbed weights and move the running
# statistics away from those of $x$. `tests/test_cifar.py` shows both effects on real
# pixels: a HEAT step with learning rate 0 leaves the weights unchanged yet moves the
# statistics, and re-estimation repairs a perturbed model's test error.
#
# ## Training
#
# The settings of the four cells, read from the experiment definitions (sources under
# *Choices we made* below):

# %% tags=["hide-input"]
ch08.settings_frame("allcnn")

# %% [markdown]
# The `fast` preset runs the real code path — the data, `experiments.run`, the
# multi-seed engine, BN re-estimation — for a few gradient steps on 8 training and 16
# test images of the subset on the CPU, to show that it runs; its numbers mean nothing
# (errors are multiples of 1/16).

# %% tags=["hide-input"]
ch09.smoke_frame(R)

# %% [markdown]
# ## Figure 5 and the All-CNN row of Table 1
#
# Results are read from `results/` (written only by real GPU runs).
# {numref}`fig-ch09-figure5` is Figure 5 of the paper with the paper's values marked,
# and the table below is the All-CNN row of Table 1, the paper's cells beside ours.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Figure 5: All-CNN on the full CIFAR-10, (a) training cross-entropy and (b) validation error (%) against effective epochs; our runs as the mean over six seeds (line, with a \u00b1 std band in b). The paper's values are marked: HJ's training loss 0.046 (dashed, a) and the Table 1 cells as open diamonds with \u00b1 std bars (b). {glue:md}`fig5_state`", "name": "fig-ch09-figure5"}}
ch09.figure_5(R)
plt.show()

# %% tags=["hide-input"]
ch09.table1_frame(R)

# %% [markdown]
# In the paper HJ reaches the lowest validation error, 7.89 % in 145 effective epochs, and
# the lowest training loss, 0.046; HJ and Entropy-SGD converge faster than SGD; HEAT does
# worst, 9.04 %, in line with Sec. 4.4 (the HJ equations smooth better than the heat
# equation). The claims table at the end checks each of our cells and where HJ and HEAT
# rank.
#
# The row costs 4 algorithms × 6 seeds × 200 effective epochs of All-CNN-C. Its GPU time
# is projected from the engine benchmark (`benchmarks/project_cifar_row.py`: the measured
# seconds per effective epoch per seed times the budgets, plus the evaluation passes);
# the table shows the measured and the projected numbers once the benchmark exists.

# %% tags=["hide-input"]
ch09.benchmark_frame(R)

# %% [markdown]
# ## The small-data experiment
#
# The same four cells trained on the SUBSET ({glue:text}`n_subset_train:,` training and
# {glue:text}`n_subset_test:,` test images) are kept apart, in
# `results/cifar10-subset/`: their numbers are **not** Table 1 numbers, since a tenth
# of the data gives a far higher error. When they exist they are listed and drawn below
# in the layout of Figure 5.

# %% tags=["hide-input"]
ch09.subset_frame(R)

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The small-data experiment (not Table 1): All-CNN on the CIFAR-10 SUBSET, (a) training cross-entropy and (b) validation error (%) against effective epochs, mean over six seeds (\u00b1 std band in b). Compare the levels with Figure 5: a tenth of the data gives a far higher error.", "name": "fig-ch09-subset"}}
ch09.figure_subset(R)
plt.show()

# %% [markdown]
# ## Choices we made
#
# - **Pre-processing constants** are those of the authors' `process_cifar.py`: a per-image
#   standard deviation with ddof 1, replaced by 1 below $10^{-8}$ (not $+10^{-8}$); the
#   covariance with ddof 1; $10^{-5}$ added to the singular values $S=\sqrt\lambda$, not to
#   $\lambda$. We compute in float64 (they used float32).
# - **Hyper-parameters** (the paper gives few for All-CNN): batch 128, weight decay
#   $10^{-3}$ for all four algorithms (the authors' research code applies it only inside
#   the inner loop, so their SGD got none); SGD with Nesterov 0.9 and lr 0.1 × 0.2 every 60
#   epochs; Entropy-SGD and HJ with the authors' Lua semantics as in the MNIST rows, the
#   authors' All-CNN coupling $g_0=0.03$ ($\gamma_0 = 1/0.03$) scoped by $10^{-4}$ per step,
#   lr 1 / 0.2 / 0.04 switching at 60 and 120 effective epochs; HEAT with
#   $\gamma_0=10^{-4}$, Nesterov 0.9 and lr 0.1 × 0.2 every 60 effective epochs; 200
#   effective epochs each. $\beta_{\rm ex}^{-1}$ is read as in the MNIST chapter (Sec. 8.2).
# - **Evaluation** every 5 effective epochs (the paper's cells are all multiples of 5),
#   after BN re-estimation on the whole training set.
# - **The binary release** (`cifar-10-batches-bin`) has no published per-file checksums;
#   we accept it when its size, its 10,000 labels and its first 1,017 images agree with
#   fingerprints of the genuine subset.
# - **The smoke run** uses L = 2 for the relaxations so that one outer step fits in a few
#   CPU seconds; the real runs use L = 20 (Entropy-SGD, HEAT) and L = 5 (HJ).
#
# ## Claims checked in this chapter
#
# The All-CNN cells and Sec. 8.3's rankings are *pending* until the GPU runs exist; the
# data, the whitening, the parameter count and the smoke run are checked on every build.

# %% tags=["hide-input"]
report(ch09.claims(R))
