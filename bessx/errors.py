"""Exceptions raised by bessx for bad input, and how their messages are shortened."""

from __future__ import annotations


class BessxError(ValueError):
    """Input that bessx cannot analyse; the message is one line naming the problem."""


class ExportError(BessxError):
    """A parquet export (or a folder of them) that cannot be read.

    Parameters
    ----------
    path
        The offending file or folder.
    problem
        What is wrong with it, in a few words.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(BessxError):
    """A configuration value that is unknown, of the wrong type or out of range."""


class OutputError(BessxError):
    """An output that cannot be written (a full disk, a permission, a folder in the way).

    Parameters
    ----------
    path
        The output as the user named it (never a hidden staging path).
    problem
        What went wrong, in a few words.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class CacheWarning(UserWarning):
    """A cache entry or folder that could not be used: the run goes on without it."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none.

    Examples
    --------
    >>> first_line(OSError("disk full\\nmore detail"))
    'disk full'
    >>> first_line(KeyError())
    'KeyError'
    """
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def one_line(text: object) -> str:
    """A message on one line: its lines stripped and joined by spaces.

    Examples
    --------
    >>> one_line("a\\n  b \\n")
    'a b'
    """
    return " ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())
