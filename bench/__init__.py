"""gilbench: how does CPU-bound Python scale across threads, processes and the newer models?"""

__version__ = "0.2.0"

from .errors import RunError, UsageError  # noqa: E402

__all__ = ["__version__", "Run", "RunError", "RunOptions", "UsageError", "compare", "load", "run"]


def __getattr__(name):
    """The Python API (gilbench.run, load, compare, Run, RunOptions), imported on first use: a cell process under
    another interpreter imports this package too, and must not pull in pandas."""
    if name in ("run", "load", "compare", "Run", "RunOptions"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'gilbench' has no attribute {name!r}")
