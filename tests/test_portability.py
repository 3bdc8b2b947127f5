"""Portability: the checks that compare results across processes and batchings pass with
another CPU kernel set and with one thread, not only on the machine they were written on.

Each variant reruns, in a fresh interpreter with one environment variable set, the tests
whose bounds come from the arithmetic rather than from one machine: chapter 14's
launch = simulation (bit for bit with rank-order sums) and gloo's all_reduce within the
summation bound, and the engine's seeds together = seeds alone and loop = vmap (equal bit
for bit in the loop, float64 round-off otherwise). ``ATEN_CPU_CAPABILITY=avx2`` makes
PyTorch dispatch its AVX2 kernels (other vector widths, so other orders of the partial
sums) on a CPU with AVX-512; ``OMP_NUM_THREADS=1`` is one thread in every process. A
variant that equals the environment the suite already runs in is skipped (it is the main
run); ``make test`` exports ``OMP_NUM_THREADS=1``, so there the avx2 variant runs. A
renamed test id makes the rerun fail ("not found"), never pass silently.
"""
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT

IDS = [
    "tests/test_distributed.py::test_three_gloo_processes_equal_the_single_process_simulation",
    "tests/test_distributed.py::"
    "test_all_reduce_differs_from_the_rank_order_sum_within_the_summation_bound",
    "tests/test_engine.py::test_seeds_trained_together_equal_seeds_trained_alone",
    "tests/test_engine.py::test_seeds_together_and_alone_agree_to_float64_roundoff",
    "tests/test_engine.py::test_loop_and_vmap_batching_agree_to_float64_roundoff",
]
VARIANTS = {"avx2": {"ATEN_CPU_CAPABILITY": "avx2"}, "one-thread": {"OMP_NUM_THREADS": "1"}}
GUARD_S = 1800                 # hang guard of the rerun, not a bound


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cross_process_and_batching_checks_pass_in(variant):
    extra = VARIANTS[variant]
    if all(os.environ.get(k) == v for k, v in extra.items()):
        pytest.skip(f"the suite already runs with {extra}: this variant is the main run")
    if variant == "avx2" and torch.backends.cpu.get_cpu_capability() not in (
            "AVX2", "AVX512"):
        pytest.skip(f"this CPU has no AVX2 ({torch.backends.cpu.get_cpu_capability()})")
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p",
                          "no:cacheprovider", *IDS], cwd=ROOT, capture_output=True,
                         text=True, timeout=GUARD_S, env={**os.environ, **extra})
    assert res.returncode == 0, f"with {extra}:\n" + res.stdout[-4000:]
