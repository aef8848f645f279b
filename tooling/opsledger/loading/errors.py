"""The error every loading step raises: one message at one position of one file."""

from __future__ import annotations


class LoadError(Exception):
    """A file that cannot be read as a record. ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.line}:{self.column}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def at(self, path: str) -> str:
        """The one line naming ``path``, the position and the problem: ``path:line:col: ...``."""
        return f"{path}:{self}"
