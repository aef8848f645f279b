"""Expected failures and exit statuses.

Anything the user can fix (bad configuration, a missing repository, a bad option) is
raised as :class:`OpsledgerError` and printed by the CLI as one line, never a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_SHALLOW = 4


class OpsledgerError(Exception):
    """A problem the user can fix; ``status`` is the process exit status."""

    status = EXIT_USAGE

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class ConfigError(OpsledgerError):
    """The repository's configuration (policy, schemas, layout) cannot be used."""


class HistoryUnusable(OpsledgerError):
    """Git history here cannot be trusted (shallow clone, rewritten locally, no git):
    exit status 4, with what to do."""

    status = EXIT_SHALLOW

    def __init__(self, reason: str, help: str) -> None:
        super().__init__(
            f"history unavailable ({reason}): {help}; or pass --no-history to run without "
            "history-derived rules and figures (they are then reported as unavailable)"
        )
        self.reason = reason
