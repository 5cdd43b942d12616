"""gilbench: how does CPU-bound Python scale across threads, processes and the newer models?"""

__version__ = "0.1.0"

from bench.errors import UsageError  # noqa: E402

__all__ = ["__version__", "UsageError"]
