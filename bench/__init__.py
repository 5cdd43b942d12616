"""gilbench: how does CPU-bound Python scale across threads, processes and the newer models?"""

__version__ = "0.2.0"

from .errors import UsageError  # noqa: E402

__all__ = ["__version__", "UsageError"]
