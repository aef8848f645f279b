"""Bytes to text, strictly: UTF-8 only, no byte-order mark, no control, invisible or bidi chars.

Records arrive in pull requests; characters a reviewer cannot see (zero-width spaces,
bidirectional overrides) or that terminals interpret (ESC) are rejected with their position.
"""

from __future__ import annotations

import re
import unicodedata

from opsledger.loading.errors import LoadError

_BOMS = {
    b"\xef\xbb\xbf": "a UTF-8 byte-order mark",
    b"\xff\xfe": "a UTF-16 byte-order mark",
    b"\xfe\xff": "a UTF-16 byte-order mark",
}

# C0 controls except TAB, LF, CR; DEL and C1 controls; soft hyphen; combining grapheme
# joiner; Arabic letter mark; Hangul fillers; Khmer inherent vowels; Mongolian variation
# selectors and vowel separator; zero-width and directional marks; bidi embeddings,
# overrides and isolates; word joiner and invisible operators; BOM inside text;
# interlinear annotation controls; musical formatting; tag characters; noncharacters.
# (The variation selectors U+FE00..U+FE0F stay: emoji are written with them.)
_HIDDEN = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff"
    "\uffa0\ufff9-\ufffb\U0001d173-\U0001d17a\U000e0000-\U000e007f"
    # the Unicode noncharacters: U+FDD0..U+FDEF and the last two code points of each plane
    "\ufdd0-\ufdef"
    + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
)
#: what a record file's text may not hold: the characters above, and the line and
#: paragraph separators U+2028 and U+2029 (invisible, and YAML counts each as a line
#: break: every position reported after one would name the wrong line)
FORBIDDEN = re.compile(f"[{_HIDDEN}\u2028\u2029]")
#: what a double-quoted value may not spell as an escape (``"\u202e"``): the characters
#: above. A separator written ``"\u2028"`` shows in the file and moves no position; a
#: one-line field refuses it by its schema, and every output shows it as an escape.
SPELLED = re.compile(f"[{_HIDDEN}]")


#: the ASCII characters a record may hold (tab, line feed, carriage return, the printable
#: ones): in an ASCII file, FORBIDDEN finds exactly the bytes not among them
ASCII_ALLOWED = b"\t\n\r" + bytes(range(0x20, 0x7F))


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def describe_char(char: str) -> str:
    name = unicodedata.name(char, "")
    if not name:
        name = {
            "\x1b": "ESCAPE",
            "\x00": "NUL",
            "\x7f": "DELETE",
            "\n": "LINE FEED",
            "\r": "CARRIAGE RETURN",
        }.get(char, _unnamed(char))
    return f"U+{ord(char):04X} {name}"


def _unnamed(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cs":
        return "lone surrogate"
    return "control character" if category == "Cc" else "noncharacter"


def forbidden_in_line(text: str) -> str | None:
    """The first character a record would refuse in a one-line value (a control,
    invisible or bidirectional character, or a line break), described; None when clean."""
    match = FORBIDDEN.search(text) or re.search("[\r\n\u2028\u2029]", text)
    return describe_char(match.group()) if match else None


def decode_strict(raw: bytes) -> str:
    """Decode record bytes, raising :class:`LoadError` with line and column on any problem."""
    for bom, what in _BOMS.items():
        if raw.startswith(bom):
            return _raise_bom(what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start]
        line = prefix.count(b"\n") + 1
        column = len(prefix[prefix.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise LoadError(
            f"invalid UTF-8 byte 0x{raw[exc.start]:02X}",
            line,
            column,
            hint="save the file as UTF-8",
        ) from None
    if raw.isascii() and not raw.translate(None, ASCII_ALLOWED):
        return text  # nearly every record: its bytes checked at C speed, not a regex's
    match = FORBIDDEN.search(text)
    if match:
        line, column = _position(text, match.start())
        raise LoadError(
            f"forbidden character {describe_char(match.group())}",
            line,
            column,
            hint="remove it: control, invisible and bidirectional characters can hide text",
        )
    return text


def _raise_bom(what: str) -> str:
    raise LoadError(
        f"file starts with {what}",
        1,
        1,
        hint="save the file as UTF-8 without a byte-order mark",
    )
