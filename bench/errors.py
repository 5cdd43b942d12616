"""Errors the CLI turns into one-line messages and a non-zero exit."""


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2, nothing run or written."""


class CellFailed(Exception):
    """A repetition of a cell did not produce a valid measurement."""
