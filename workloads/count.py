"""The tutorial's pure-Python counting loop: all of its time is spent holding the GIL."""

DESCRIPTION = "pure-Python loop (result += 1): holds the GIL the whole time, so threads cannot overlap"

# Total iterations, fixed per profile and split evenly into tasks. `tasks: 0` means one task
# per worker (the tutorial's split); any other value fixes the number of tasks.
SIZES = {
    "smoke": {"iterations": 200_000, "tasks": 0},
    "quick": {"iterations": 5_000_000, "tasks": 0},
    "standard": {"iterations": 15_000_000, "tasks": 0},
    "full": {"iterations": 200_000_000, "tasks": 0},
}

# --scaling weak: one worker's share is one profile's iterations; N workers count N times as far.
WEAK_SCALING = "iterations"


def make_tasks(params, workers):
    n_tasks = params["tasks"] or workers
    base, extra = divmod(params["iterations"], n_tasks)
    return [base + (1 if i < extra else 0) for i in range(n_tasks)]


def run_task(n):
    result = 0
    for _ in range(n):
        result += 1
    return result


def check(params, tasks, results):
    if sum(results) != params["iterations"]:
        raise ValueError(f"counted {sum(results)} iterations, expected {params['iterations']}")
