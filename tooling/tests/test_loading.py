"""The strict loader against the adversarial corpus (SPEC §2, THREATS.md), on both parsers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsledger.loading import Limits, LoadError, load_document, load_text
from opsledger.loading.text import FORBIDDEN, SPELLED, decode_strict, describe_char


def error(text: str, **kwargs: object) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_text(text, **kwargs)  # type: ignore[arg-type]
    return info.value


@pytest.mark.usefixtures("parser")
class TestYamlRefusals:
    def test_alias_bomb_is_refused_at_once(self) -> None:
        levels = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
        for i in range(1, 7):
            refs = ",".join([f"*a{i - 1}"] * 9)
            levels.append(f"a{i}: &a{i} [{refs}]")
        bomb = "\n".join(levels) + "\n"
        assert len(bomb.encode()) < 700
        start = time.perf_counter()
        err = error(bomb)
        assert time.perf_counter() - start < 0.5
        assert "anchor '&a0' is not allowed" in err.message
        assert (err.line, err.column) == (1, 5)

    def test_alias_alone(self) -> None:
        err = error("a: x\nb: *a\n")
        assert (err.line, err.column) == (2, 4)
        assert "alias" in err.message

    @pytest.mark.parametrize(
        ("text", "column", "char"),
        [
            ('title: "checkout \\e[2J down"\n', 8, "U+001B ESCAPE"),
            ('title: "a \\u202e b"\n', 8, "U+202E"),
            ('title: "a \\x00 b"\n', 8, "NUL"),
            ('title: "a \\0 b"\n', 8, "NUL"),
            ('title: "zero\\u200bwidth"\n', 8, "U+200B"),
            ('title: "a \\N b"\n', 8, "U+0085"),
            ('title: "tag \\U000E0041"\n', 8, "U+E0041"),
            ('"k\\e": v\n', 1, "U+001B ESCAPE"),
            ('list:\n  - ok\n  - "x\\x1by"\n', 5, "U+001B ESCAPE"),
            ('title: "a \\uFFFE"\n', 8, "U+FFFE noncharacter"),
            ('title: "a \\U0010FFFF"\n', 8, "U+10FFFF noncharacter"),
            ('title: "a \\uFDD0"\n', 8, "U+FDD0 noncharacter"),
        ],
    )
    def test_a_character_written_as_an_escape_is_held_to_the_text_rules(
        self, text: str, column: int, char: str
    ) -> None:
        """A double-quoted scalar (a value or a key) may spell any character as an escape:
        what it gives is refused as the same character in the file's text is."""
        err = error(text)
        assert "forbidden character" in err.message and char in err.message
        assert "escape" in err.message
        assert err.column == column

    @pytest.mark.parametrize("escape", ["\\ud800", "\\U00110000"])
    def test_an_escape_of_no_character_is_an_error_not_a_crash(self, escape: str) -> None:
        """A lone surrogate or a code point beyond Unicode: each parser refuses it (the
        pure-Python one raised a ValueError of its own)."""
        err = error(f'title: "{escape}"\n')
        assert err.line == 1

    def test_escapes_of_allowed_characters_still_load(self) -> None:
        doc = load_text('title: "tab\\there \\"quoted\\" \\u00e9t\\u00e9 \\\\ end"\n')
        assert doc.data == {"title": 'tab\there "quoted" été \\ end'}

    def test_merge_key(self) -> None:
        err = error("base: {x: 1}\nrecord:\n  <<: {y: 2}\n")
        assert "merge key" in err.message
        assert (err.line, err.column) == (3, 3)

    def test_deep_nesting_is_an_error_not_a_crash(self) -> None:
        err = error("a: " + "[" * 10_000 + "]" * 10_000 + "\n")
        assert err.line == 1
        assert "nesting" in err.message

    def test_depth_limit_counts_block_nesting(self) -> None:
        text = "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "v: 1\n"
        err = error(text, limits=Limits(max_depth=32))
        assert "deeper than 32" in err.message
        assert err.line == 33

    @pytest.mark.parametrize(
        ("text", "line", "column", "first"),
        [
            ("status: open\ntitle: x\nstatus: closed\n", 3, 1, 1),
            ("a:\n  x: 1\n  y: 2\n  x: 3\n", 4, 3, 2),
            ("a: {x: 1, y: 2, x: 3}\n", 1, 17, 1),
        ],
        ids=["top-level", "nested", "flow"],
    )
    def test_duplicate_keys_name_both_lines(
        self, text: str, line: int, column: int, first: int
    ) -> None:
        err = error(text)
        assert (err.line, err.column) == (line, column)
        assert f"first defined on line {first}" in err.message

    @pytest.mark.parametrize(
        ("scalar", "value"),
        [
            ("yes", "yes"),
            ("no", "no"),
            ("on", "on"),
            ("off", "off"),
            ("NO", "NO"),
            ("012", "012"),
            ("12:30", "12:30"),
            ("0x1F", "0x1F"),
            ("0o17", "0o17"),
            ("2026-03-04", "2026-03-04"),
            ("2026-03-04T09:12:00Z", "2026-03-04T09:12:00Z"),
            ("2026-03-04 09:12:00", "2026-03-04 09:12:00"),
            ("1_000", "1_000"),
            ("true", True),
            ("False", False),
            ("null", None),
            ("~", None),
            ("12", 12),
            ("-3", -3),
            ("0", 0),
            ("1.5", 1.5),
            ("99.95", 99.95),
            ("'yes'", "yes"),
        ],
    )
    def test_yaml_12_scalars(self, scalar: str, value: object) -> None:
        doc = load_text(f"v: {scalar}\n")
        assert doc.data["v"] == value
        assert type(doc.data["v"]) is type(value)

    @pytest.mark.parametrize("scalar", [".nan", ".NaN", ".inf", "-.inf", "+.Inf", "1e999"])
    def test_nan_and_infinity_are_errors(self, scalar: str) -> None:
        err = error(f"value: {scalar}\n")
        assert (err.line, err.column) == (1, 8)

    @pytest.mark.parametrize(
        "tagged",
        [
            "!!python/object/apply:os.system ['touch {marker}']",
            "!!python/name:os.system",
            "!!binary aGVsbG8=",
            "!!set {{a, b}}",
            "!!timestamp 2026-03-04",
            "!!str 12",
            "!custom x",
        ],
    )
    def test_explicit_tags_are_refused_without_side_effect(
        self, tagged: str, tmp_path: Path
    ) -> None:
        marker = tmp_path / "pwned"
        err = error(f"id: INC-2026-0001\nvalue: {tagged.format(marker=marker)}\n")
        assert "explicit tag" in err.message
        assert (err.line, err.column) == (2, 8)
        assert not marker.exists()

    def test_two_documents(self) -> None:
        err = error("id: a\n---\nid: b\n")
        assert "second YAML document" in err.message
        assert err.line == 2

    @pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "~\n", "---\n"])
    def test_empty(self, text: str) -> None:
        assert "no YAML data" in error(text).message

    def test_top_level_list_loads_for_the_schema_to_judge(self) -> None:
        assert load_text("- a\n- b\n").data == ["a", "b"]

    @pytest.mark.parametrize(
        ("text", "column"),
        [("1: a\n", 1), ("x: 1\ntrue: a\n", 1), ("~: a\n", 1), ("x: 1\n? [a, b]\n: c\n", 3)],
    )
    def test_non_string_keys(self, text: str, column: int) -> None:
        err = error(text)
        assert "key" in err.message
        assert err.column == column

    def test_syntax_error_has_position(self) -> None:
        err = error("a: [1, 2\nb: 3\n")
        assert err.line == 2
        assert err.message.startswith("YAML syntax error")

    def test_positions_of_values_and_keys(self) -> None:
        doc = load_text("id: INC-2026-0001\nnotifications:\n  - at: x\n    kind: initial\n")
        assert doc.position(("id",)) == (1, 5)
        assert doc.position(("notifications", 0, "kind")) == (4, 11)
        assert doc.position(("notifications", 0, "kind"), key=True) == (4, 5)
        assert doc.position(("notifications", 0, "missing")) == (3, 5)


@pytest.mark.usefixtures("parser")
class TestFrontMatter:
    def test_body_is_never_yaml(self) -> None:
        text = "---\nid: PIR-2026-0001\nstatus: draft\n---\n# Summary\n\n---\nstatus: approved\n"
        doc = load_text(text, markdown=True)
        assert doc.data == {"id": "PIR-2026-0001", "status": "draft"}
        assert doc.body is not None and "status: approved" in doc.body
        assert doc.body_line == 5

    def test_positions_count_file_lines(self) -> None:
        err = error("---\nid: x\nid: y\n---\nbody\n", markdown=True)
        assert (err.line, err.column) == (3, 1)
        assert "first defined on line 2" in err.message

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("# Title only\n", "no front matter"),
            ("---\nid: x\n", "not closed"),
            ("---\nid: [x\n---\n", "YAML syntax error"),
            ("---\n---\nbody\n", "no YAML data"),
        ],
    )
    def test_invalid_front_matter_is_an_error(self, text: str, message: str) -> None:
        assert message in error(text, markdown=True).message


class TestBytes:
    def write(self, tmp_path: Path, data: bytes, name: str = "INC-2026-0001.yaml") -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    def load_error(self, path: Path, **kwargs: object) -> LoadError:
        with pytest.raises(LoadError) as info:
            load_document(path, **kwargs)  # type: ignore[arg-type]
        return info.value

    def test_utf8_bom(self, tmp_path: Path) -> None:
        err = self.load_error(self.write(tmp_path, b"\xef\xbb\xbfid: x\n"))
        assert "byte-order mark" in err.message

    def test_utf16(self, tmp_path: Path) -> None:
        err = self.load_error(self.write(tmp_path, "id: x\n".encode("utf-16")))
        assert "UTF-16" in err.message

    def test_latin1_byte_position(self, tmp_path: Path) -> None:
        err = self.load_error(self.write(tmp_path, b"id: x\ntitle: Caf\xe9 down\n"))
        assert (err.line, err.column) == (2, 11)
        assert "0xE9" in err.message

    @pytest.mark.parametrize(
        ("data", "line", "column", "name"),
        [
            (b"id: x\ntitle: a\x00b\n", 2, 9, "NUL"),
            (b"id: x\ntitle: \x1b[31mred\n", 2, 8, "ESCAPE"),
            ("id: x\nsta\u200btus: open\n".encode(), 2, 4, "ZERO WIDTH SPACE"),
            ("id: x\nimpact: ok \u202eevil\n".encode(), 2, 12, "RIGHT-TO-LEFT OVERRIDE"),
            ("id: x\nimpact: \u2066x\u2069\n".encode(), 2, 9, "LEFT-TO-RIGHT ISOLATE"),
            ("id: x\ntitle: a\u3164b\n".encode(), 2, 9, "HANGUL FILLER"),
            ("id: x\ntitle: a\u034fb\n".encode(), 2, 9, "COMBINING GRAPHEME JOINER"),
            ("id: x\ntitle: ab\U0001d173\n".encode(), 2, 10, "MUSICAL SYMBOL BEGIN BEAM"),
            ('id: x\ntitle: "a\u2028b"\npriority: P9\n'.encode(), 2, 10, "LINE SEPARATOR"),
            ("# note \u2029 here\nid: x\n".encode(), 1, 8, "PARAGRAPH SEPARATOR"),
        ],
        ids=[
            "nul",
            "esc",
            "zero-width-in-key",
            "bidi-override",
            "bidi-isolate",
            "hangul-filler",
            "grapheme-joiner",
            "musical-format",
            "line-separator-in-a-value",
            "paragraph-separator-in-a-comment",
        ],
    )
    def test_forbidden_characters(
        self, tmp_path: Path, data: bytes, line: int, column: int, name: str
    ) -> None:
        err = self.load_error(self.write(tmp_path, data))
        assert (err.line, err.column) == (line, column)
        assert name in err.message

    def test_emoji_with_a_variation_selector_is_text(self, tmp_path: Path) -> None:
        doc = load_document(self.write(tmp_path, "id: x\ntitle: \u26a0\ufe0f degraded\n".encode()))
        assert doc.data == {"id": "x", "title": "\u26a0\ufe0f degraded"}

    def test_tabs_and_crlf_are_fine(self, tmp_path: Path) -> None:
        doc = load_document(self.write(tmp_path, b"id: x\r\ntitle: 'a\tb'\r\n"))
        assert doc.data == {"id": "x", "title": "a\tb"}

    def test_size_limit_checked_before_reading(self, tmp_path: Path) -> None:
        big = b"id: x\nimpact: '" + b"a" * (2 * 1024 * 1024) + b"'\n"
        start = time.perf_counter()
        err = self.load_error(self.write(tmp_path, big))
        assert time.perf_counter() - start < 0.5
        assert "over the limit" in err.message

    def test_symlink_refused_without_reading(self, tmp_path: Path) -> None:
        secret = tmp_path / "secret.txt"
        secret.write_text("AWS_SECRET_ACCESS_KEY=hunter2\n")
        link = tmp_path / "INC-2026-0001.yaml"
        link.symlink_to(secret)
        err = self.load_error(link)
        assert "symbolic link" in err.message
        assert "hunter2" not in str(err)


#: every refusal of the strict loader, and documents it accepts (positions, front matter)
_CORPUS = [
    "id: INC-2026-0001\nstatus: open\nimpact: [a, b]\nnested:\n  - {x: 1, y: ~}\n  - 2.5\n",
    "a: &x 1\nb: *x\n",
    "a: x\nb: *a\n",
    "base: {x: 1}\nrecord:\n  <<: {y: 2}\n",
    "a: !!str 1\n",
    "? [a]\n: 1\n",
    "1: a\n",
    "a: 1\nb:\n  c: 2\n  c: 3\n",
    "a: .nan\n",
    "a: 1e999\n",
    "a: 1\n---\nb: 2\n",
    "a: [1, 2\n",
    "",
    "~\n",
    "a: " + "[" * 40 + "]" * 40 + "\n",
    "'<<': quoted merge key is text\nyes: no\nn: 012\n",
    "---\nid: PIR-2026-0001\nstatus: draft\n---\n# Summary\n",
    "---\nid: x\nid: y\n---\nbody\n",
    "---\n---\nbody\n",
]


@pytest.mark.usefixtures("parser")
@pytest.mark.parametrize("text", _CORPUS)
def test_without_positions_the_same_data_and_errors(text: str) -> None:
    """``positions=False`` (the history's reads) changes nothing but the positions left out:
    the same data and body, or the same error at the same place."""
    markdown = text.startswith("---")
    results: list[tuple[object, ...]] = []
    for positions in (True, False):
        try:
            doc = load_text(text, markdown=markdown, positions=positions)
            results.append(("data", doc.data, doc.body, doc.body_line))
            if positions:
                assert doc.values  # every value has a position
            else:
                assert doc.values == {} and doc.keys == {}
        except LoadError as exc:
            results.append(("error", exc.message, exc.line, exc.column, exc.hint))
    assert results[0] == results[1]


_ASCII_AND_BEYOND = (
    st.lists(st.integers(0, 0x7F), max_size=64).map(bytes)
    | st.binary(max_size=64)
    | st.text(alphabet=st.characters(max_codepoint=0x2070), max_size=64).map(
        lambda text: text.encode("utf-8", "surrogatepass")
    )
)


@settings(max_examples=400)
@given(_ASCII_AND_BEYOND)
def test_decoding_is_the_forbidden_pattern_on_every_input(raw: bytes) -> None:
    """The fast check of an ASCII file refuses exactly what FORBIDDEN finds, at the same
    place: every byte string (and every short text of the first planes) decodes, or is
    refused with the same message, as the pattern alone would."""
    try:
        got: str | tuple[str, int, int] = decode_strict(raw)
    except LoadError as err:
        got = (err.message, err.line, err.column)
    if raw.startswith(_BOM_STARTS):
        assert isinstance(got, tuple) and "byte-order mark" in got[0]
        return
    try:
        expected: str | tuple[str, int, int] = raw.decode("utf-8")
    except UnicodeDecodeError:
        assert isinstance(got, tuple) and got[0].startswith("invalid UTF-8")
        return
    found = FORBIDDEN.search(expected)
    if found is not None:
        line, column = _at(expected, found.start())
        expected = (f"forbidden character {describe_char(found.group())}", line, column)
    assert got == expected


_BOM_STARTS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _at(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(max_codepoint=0x2100), max_size=24))
def test_a_double_quoted_value_is_refused_exactly_when_its_escapes_give_a_forbidden_char(
    value: str,
) -> None:
    """Every value written as a JSON string (escapes only: the file itself is ASCII) loads
    as itself, unless it holds a character SPELLED names or a lone surrogate."""
    raw = f"id: INC-1\ntitle: {json.dumps(value)}\n".encode("ascii")
    refused = SPELLED.search(value) is not None or any(
        0xD800 <= ord(char) <= 0xDFFF for char in value
    )
    try:
        doc = load_text(raw.decode("ascii"))
    except LoadError as err:
        assert refused, err.message
        assert err.message.endswith("(written as an escape)") and (err.line, err.column) == (2, 8)
    else:
        assert not refused
        assert doc.data["title"] == value
