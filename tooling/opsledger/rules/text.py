"""The "specific, not placeholder" heuristic for statements, plans and analyses.

A text fails when it is missing, is one of the policy's placeholders (``TBD``, ``n/a``,
``none``, ``see above``, ``rollback if needed``…, compared case-insensitively without
trailing punctuation), or is shorter than ``statements.min_words`` words or
``statements.min_chars`` characters. Thresholds live in ``policy.yaml``.
"""

from __future__ import annotations

import re

from opsledger.model.policy import Policy

_WORD = re.compile(r"[^\W_]+(?:[-'.][^\W_]+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def vagueness(text: str | None, policy: Policy) -> str | None:
    """Why ``text`` is not a specific statement, or None when it is."""
    if text is None or not text.strip():
        return "is missing"
    normal = " ".join(text.strip().lower().rstrip(".!").split())
    if normal in {p.lower() for p in policy.placeholders}:
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
    pattern = r"(?<!\w)" + r"\s+".join(map(re.escape, phrase.lower().split())) + r"(?!\w)"
    return re.search(pattern, text.lower()) is not None
