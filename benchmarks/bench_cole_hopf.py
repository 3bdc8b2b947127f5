"""Time a 2-D Cole-Hopf evaluation (eq. (11)) on an n x n grid; the target is < 1 s for n = 1024.

Usage: python benchmarks/bench_cole_hopf.py [n] [repeats]
Prints the median wall time of ``local_entropy`` (separable log-domain Gaussian convolution:
two n x n matrix products per evaluation) and, for reference, of ``gibbs.grad_u_rho1``
(the first gradient form (12), two more convolutions per axis).
"""
import sys
import time

import numpy as np

from deeprelax.pde import gibbs, landscapes
from deeprelax.pde.local_entropy import local_entropy


def median_time(fn, repeats: int) -> float:
    fn()                                            # warm-up (allocations, BLAS threads)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(n: int = 1024, repeats: int = 5) -> None:
    land = landscapes.two_d("fourier")
    x = np.linspace(-5, 5, n)
    axes = (x, x)
    f = land.on_grid(axes)
    t_ch = median_time(lambda: local_entropy(f, axes, 0.3, 2.0), repeats)
    t_gr = median_time(lambda: gibbs.grad_u_rho1(f, axes, 0.3, 2.0), repeats)
    print(f"Cole-Hopf u(., t) on a {n}x{n} grid: {t_ch:.3f} s (median of {repeats}; target < 1 s)")
    print(f"gradient form (12), rho_1 expectation, {n}x{n}: {t_gr:.3f} s")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
