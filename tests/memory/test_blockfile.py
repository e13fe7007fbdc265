"""The block file format: lossless typed round-trips, readable output, clear errors."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from youlab_core.config import FieldType
from youlab_core.memory.blockfile import BlockDoc, BlockFileError, parse, render

UPDATED = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def doc_of(values: dict, types: dict) -> BlockDoc:
    return BlockDoc("profile", "About you", "typed-course", UPDATED, values=values, types=types)


def roundtrip(values: dict, types: dict) -> BlockDoc:
    text = render(doc_of(values, types))
    return parse(text, where="profile.md")


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


aware = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]),
)
VALUE = {
    FieldType.string: st.text(),
    FieldType.int: st.integers(min_value=-(2**70), max_value=2**70),
    FieldType.float: st.floats(allow_nan=True, allow_infinity=True),
    FieldType.bool: st.booleans(),
    FieldType.list: st.lists(st.text(), max_size=6),
    FieldType.datetime: st.none() | st.datetimes() | aware,
}
field_names = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)


@st.composite
def blocks(draw: st.DrawFn) -> tuple[dict, dict]:
    names = draw(st.lists(field_names, min_size=1, max_size=7, unique=True))
    types = {name: draw(st.sampled_from(list(FieldType))) for name in names}
    values = {name: draw(VALUE[types[name]]) for name in names}
    return values, types


@settings(max_examples=400, deadline=None)
@given(blocks())
def test_every_type_round_trips_exactly(block: tuple[dict, dict]) -> None:
    values, types = block
    back = roundtrip(values, types)
    assert list(back.values) == list(values)
    for name, value in values.items():
        assert same(back.values[name], value), (name, value, back.values[name])
    assert back.types == types


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["#", "## ", "-", "---", "`", "```", "````text", "~~~", "\n", "\r", " ", "a", '"']), max_size=20).map("".join))
def test_markdown_lookalike_strings_round_trip(text: str) -> None:
    back = roundtrip({"a": text, "b": ["x", text], "c": text}, {"a": FieldType.string, "b": FieldType.list, "c": FieldType.string})
    assert back.values == {"a": text, "b": ["x", text], "c": text}


def test_toml_with_nested_tables_is_kept_verbatim() -> None:
    # The earlier version stored block bodies as TOML and corrupted nested tables on conversion.
    toml_text = '[a.b]\nx = { y = 1, z = [1, 2] }\n[[c.d]]\nname = "q"\n\n## not a field\n---\n'
    back = roundtrip({"notes": toml_text}, {"notes": FieldType.string})
    assert back.values["notes"] == toml_text


def test_the_file_reads_as_markdown() -> None:
    text = render(doc_of({"notes": "Likes chess.\nWants to study biology.", "tags": ["curious", "quiet"], "level": 3},
                         {"notes": FieldType.string, "tags": FieldType.list, "level": FieldType.int}))
    assert text.startswith("---\nblock: \"profile\"\n")
    assert "# About you\n" in text
    assert "## notes\n\nLikes chess.\nWants to study biology.\n" in text
    assert "## tags\n\n- curious\n- quiet\n" in text
    assert "## level\n\n3\n" in text
    assert "```" not in text  # plain text stays plain


def test_a_string_with_a_heading_line_is_fenced_and_readable() -> None:
    text = render(doc_of({"notes": "## Draft 2\nbetter"}, {"notes": FieldType.string}))
    assert "```text\n## Draft 2\nbetter\n```" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no front matter", "does not start with a '---'"),
        ("---\nblock: x\n", "not closed"),
        ('---\nschema: 99\nfields: {}\n---\n', "newer than this version"),
        ('---\nfields: {"a": "string"}\n---\n## b\n\nx\n', "'## b' has no type"),
        ('---\nfields: {"a": "int"}\n---\n## a\n\nseven\n', "## a: cannot read the int value"),
        ('---\nfields: {"a": "string", "b": "int"}\n---\n## a\n\nx\n', "no '## ' section for field(s) b"),
        ('---\nfields: {"a": "list"}\n---\n## a\n\nnot a bullet\n', "does not start with '- '"),
        ('---\nfields: {"a": "string"}\n---\n## a\n\n```text\nnever closed\n', "never closed"),
        ('---\nfields: {"a": "potato"}\n---\n', "'fields'"),
    ],
)
def test_damaged_files_name_the_file_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(BlockFileError, match="profile.md") as info:
        parse(text, where="profile.md")
    assert message in str(info.value)


def test_hand_typed_yaml_scalars_are_accepted() -> None:
    doc = parse('---\nblock: profile\ntitle: About me\nfields: {"a": "bool"}\n---\n## a\n\nTrue\n', where="x")
    assert doc.title == "About me" and doc.values == {"a": True}
