"""NumPy linear algebra: a matrix product and a solve per round. The work runs in BLAS (OpenBLAS, MKL), which
releases the GIL and runs a pool of native threads of its own under whatever threads or processes gilbench starts."""

import numpy as np

DESCRIPTION = (
    "NumPy matmul + linalg.solve: releases the GIL, and BLAS runs its own native threads (see --native-threads)"
)

# `n`: the matrices' side; `rounds`: matmul + solve rounds in all, split evenly into tasks (`tasks: 0`, as in
# count: one task per worker). Sized so that serial takes about as long as count's at each profile on the
# project's 2-core VM at the default BLAS threads: a 400 x 400 round takes 6.8 ms with 2 OpenBLAS threads
# (9.5 ms with 1), count's serial loop 0.11 s at quick and 0.33 s at standard.
SIZES = {
    "smoke": {"n": 128, "rounds": 8, "tasks": 0, "seed": 0},
    "quick": {"n": 400, "rounds": 16, "tasks": 0, "seed": 0},
    "standard": {"n": 400, "rounds": 48, "tasks": 0, "seed": 0},
    "full": {"n": 400, "rounds": 640, "tasks": 0, "seed": 0},
}

# --scaling weak: one worker's share is one profile's rounds.
WEAK_SCALING = "rounds"
# The diagonal added to A, times n: A is then strictly diagonally dominant in expectation, far from singular, so
# solve(A, A @ B) gives back B to about 1e-13 and the check's tolerance is loose by orders of magnitude.
DIAGONAL = 1.0
TOLERANCE = 1e-6  # per element and round: far above rounding (1e-13), far below a wrong result's error (about 1)


def matrices(n, seed):
    """A (well conditioned) and B, the same in every worker for one seed."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)) + DIAGONAL * n * np.eye(n)
    return a, rng.standard_normal((n, n))


def make_tasks(params, workers):
    n_tasks = params["tasks"] or workers
    base, extra = divmod(params["rounds"], n_tasks)
    return [(params["n"], params["seed"], base + (1 if i < extra else 0)) for i in range(n_tasks)]


def run_task(task):
    """`rounds` times: C = A @ B, X = solve(A, C); returns the sum of every X (each should equal B)."""
    n, seed, rounds = task
    a, b = matrices(n, seed)
    total = 0.0
    for _ in range(rounds):
        total += float(np.linalg.solve(a, a @ b).sum())
    return total


def check(params, tasks, results):
    _, b = matrices(params["n"], params["seed"])
    expected = params["rounds"] * float(b.sum())
    error = abs(sum(results) - expected)
    if not error <= TOLERANCE * params["n"] ** 2 * max(1, params["rounds"]):
        raise ValueError(f"the solves summed to {sum(results)!r}, expected {expected!r} (B's sum x rounds)")
