"""Entropy-SGD step for step against the authors' Lua update: max |Δx| per outer step.

Usage: python benchmarks/authors_step_table.py [n_outer]

The deterministic float64 problem, the transcription of the Lua update and the mapping of
its settings to ``deeprelax.train.optim`` are those of ``tests/test_optim_authors.py`` (10
weights in two tensors, 3 minibatches, L = 20, η′ = 0.1, β₁ = 0.75, outer lr 1 with
``outer="lua"`` and no outer momentum, scoping g₁ = 1e-3, no noise, no weight decay).
For couplings g₀ = 1e-4 (the authors' MNIST value) and 1, and inner Nesterov momentum 0
and 0.9 (the Lua value), it prints per outer step k the movement max|x_k − x₀| of the
transcription and max|x_k(project) − x_k(Lua)| for ``inner_form="paper"`` and
``"authors"``, absolute and relative to the movement.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import test_optim_authors as T  # noqa: E402


def main(n_outer: int = 5) -> None:
    head = (f"{'coupling':>8} {'inner mom.':>10} {'step':>4} {'max|x_k-x_0|':>12} "
            f"{'paper-Lua':>10} {'(rel.)':>8} {'authors-Lua':>11} {'(rel.)':>8}")
    print(head)
    print("-" * len(head))
    for g0 in (1e-4, 1.0):
        for mom in (0.0, 0.9):
            cfg = T.config(g0, mom=mom)
            e_auth, move = T.step_errors(cfg, n_outer, inner_form="authors")
            e_pap, _ = T.step_errors(cfg, n_outer, inner_form="paper")
            for k in range(n_outer):
                print(f"{g0:>8.0e} {mom:>10.1f} {k + 1:>4d} {move[k]:>12.3f} "
                      f"{e_pap[k]:>10.1e} {e_pap[k] / move[k]:>8.1e} "
                      f"{e_auth[k]:>11.1e} {e_auth[k] / move[k]:>8.1e}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
