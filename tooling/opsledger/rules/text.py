"""The "specific, not placeholder" heuristic for statements, plans and analyses.

A text fails when it is missing, is one of the policy's placeholders (``TBD``, ``n/a``,
``none``, ``see above``, ``rollback if needed``…, compared case-insensitively without
trailing punctuation), or is shorter than ``statements.min_words`` words or
``statements.min_chars`` characters. Thresholds live in ``policy.yaml``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from opsledger.model.policy import Policy
from opsledger.model.settings import INTEGER, LINES, REQUIRED, Setting

PLACEHOLDERS = Setting(
    "statements.placeholders",
    LINES,
    REQUIRED,
    "texts that say nothing (TBD, n/a, see above…), compared case-insensitively without "
    "trailing punctuation",
    "placeholders",
)
MIN_WORDS = Setting(
    "statements.min_words",
    INTEGER.refine(minimum=1),
    REQUIRED,
    "the fewest words a specific statement has",
    "min_words",
)
MIN_CHARS = Setting(
    "statements.min_chars",
    INTEGER.refine(minimum=1),
    REQUIRED,
    "the fewest characters a specific statement has",
    "min_chars",
)
#: the "specific, not placeholder" heuristic's settings, shared by every rule that uses it
STATEMENTS = (PLACEHOLDERS, MIN_WORDS, MIN_CHARS)

_WORD = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@lru_cache(maxsize=8)
def _lowered(placeholders: tuple[str, ...]) -> frozenset[str]:
    return frozenset(p.lower() for p in placeholders)


def vagueness(text: str | None, policy: Policy) -> str | None:
    """Why ``text`` is not a specific statement, or None when it is."""
    if text is None or not text.strip():
        return "is missing"
    normal = " ".join(text.strip().lower().rstrip(".!").split())
    if normal in _lowered(policy.placeholders):
        return f"is a placeholder ({text.strip()!r})"
    count = len(words(text))
    if count < policy.min_words or len(text.strip()) < policy.min_chars:
        return (
            f"is too short to be specific ({count} words; policy asks for at least "
            f"{policy.min_words} words and {policy.min_chars} characters)"
        )
    return None


def contains_phrase(text: str, phrase: str) -> bool:
    """Whole-word, case-insensitive phrase match."""
    return _phrase(phrase).search(text.lower()) is not None


@lru_cache(maxsize=256)
def _phrase(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, phrase.lower().split())) + r"(?!\w)")
