"""The failures the CLI turns into one line and an exit status (the README's table of exit codes)."""


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2, nothing run or written."""


class RunError(Exception):
    """A run that had started could not go on (its results could not be written): exit status 3.

    Every repetition finished before the failure is kept in the run folder.
    """
