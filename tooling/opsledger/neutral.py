"""Untrusted text made inert for a terminal, a CI log or an XML document.

Record fields, file names, git identities and commit subjects come from pull requests. Printed
as they are, a value could move the cursor or retitle the terminal (ESC, OSC, BEL), start a new
line that a CI runner executes as a command (GitHub Actions runs ``::error …``,
``::add-mask::…`` and ``::stop-commands::…`` lines; Azure Pipelines and TeamCity run
``##vso[…]``, ``##[…]`` and ``##teamcity[…]`` anywhere in a line), reorder what a reader
sees (bidi overrides) or make an XML report unreadable. Every text destination goes through
:func:`line` (one line of output) or :func:`lines` (a text the tool wrote, its own line breaks
kept):

* control characters (C0 including tab, CR and LF; DEL; C1), format characters (bidi
  embeddings, overrides and isolates, zero-width characters, the BOM), line and paragraph
  separators, surrogates (bytes of a file name that are not UTF-8) and noncharacters become
  visible escapes such as ``\\x1b``, ``\\n``, ``\\u202e``, ``\\udcff``;
* a line whose first non-blank characters are ``::`` gets a backslash before them, and so
  does the second ``#`` of ``##[``, ``##vso[`` or ``##<name>[`` anywhere, so no command
  marker survives. In Markdown ``\\:`` and ``\\#`` show as ``:`` and ``#``.

The result is also valid XML 1.0 character data (nothing XML forbids is left). Printable text
in any script, accents and emoji included, is kept as it is.

JSON printed to a CI log is a text destination too (``##vso[…]`` inside a string would run);
:func:`json_text` makes a JSON document inert without changing what it parses to: the same
characters become ``\\uXXXX`` escapes. A lone surrogate (a byte of a file name that is not
UTF-8) is the one exception: no valid Unicode holds it, and a JSON text escaping it is
refused by strict parsers, so the string holds its visible escape as text (``\\udcff``),
as every other output shows it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: categories escaped: control, format, surrogate, line and paragraph separator, unassigned
#: (which includes the noncharacters U+FFFE and U+FFFF that XML forbids)
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Cn"})
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_SUSPECT = re.compile(r"[^\x20-\x7e]")  # printable ASCII never needs a look
_MARKER = re.compile(r"#(?=#[A-Za-z]*\[)")
_LEADING = re.compile(r"\A(\s*)(?=::)")


@lru_cache(maxsize=4096)
def _escape_char(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    if unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _escape(text: str) -> str:
    if _SUSPECT.search(text) is None:
        return text
    return _SUSPECT.sub(lambda m: _escape_char(m.group()), text)


def _unmark(text: str) -> str:
    if "::" in text:
        text = _LEADING.sub(r"\1\\", text, count=1)
    if "#" in text:
        text = _MARKER.sub(r"#\\", text)
    return text


def _json_escape(char: str) -> str:
    category = unicodedata.category(char)
    if category not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    if category == "Cs":  # a lone surrogate: its visible escape, as text
        return f"\\\\u{code:04x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


_JSON_SUSPECT = re.compile(r"[^\x20-\x7e\n]")


def json_text(document: str) -> str:
    """A JSON text from :func:`json.dumps` made inert for a log, parsing to the same value:
    control, format and separator characters as ``\\uXXXX``, the first ``#`` of a command
    marker as ``\\u0023``; a lone surrogate, which no valid JSON text holds, as the text of
    its visible escape (``\\udcff``)."""
    if _JSON_SUSPECT.search(document) is not None:
        document = _JSON_SUSPECT.sub(lambda m: _json_escape(m.group()), document)
    if "##" in document:
        document = _MARKER.sub(r"\\u0023", document)
    return document


def visible(value: object) -> str:
    """``value`` with every control, format and separator character escaped (no command
    marker handling: for destinations that run none, such as an HTML page)."""
    return _escape(value if isinstance(value, str) else str(value))


def line(value: object) -> str:
    """``value`` as one inert line: every line break and control character escaped, no CI
    command marker left."""
    text = value if isinstance(value, str) else str(value)
    return _unmark(_escape(text))


def lines(text: str) -> str:
    """A multi-line text the tool wrote (a report, a table): each of its lines made inert as
    :func:`line` does, the line feeds between them kept."""
    return "\n".join(line(part) for part in text.split("\n"))


def short(value: object, limit: int = 200) -> str:
    """:func:`line`, cut to ``limit`` characters with an ellipsis."""
    text = line(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def path_value(path: str) -> str:
    """A file path for a machine reader (a CI annotation's ``file``, Code Quality's
    ``location.path``): the real path when every character of it is printable, so the CI
    points at the file that exists (the format's own escaping then applies); else its
    neutralised text (:func:`line`), which names no file but can do no harm."""
    return path if path.isprintable() else line(path)
