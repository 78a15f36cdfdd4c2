"""Exceptions raised by bessx for bad input."""

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
