"""Random and mutated TOML never makes the loader raise anything but ConfigError."""

import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from youlab_core.config import parse_course, validate_course
from youlab_core.errors import ConfigError

from .conftest import SHIPPED

SHIPPED_TEXT = SHIPPED.read_text()
SHIPPED_RAW = tomllib.loads(SHIPPED_TEXT)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True), st.text(max_size=20),
    st.sampled_from(["all", "recent", "specific", "append", "llm_diff", "0 9 * * 1", "UTC", "journey.blockers", "list", "int"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


ALL_PATHS = [p for p in _paths(SHIPPED_RAW) if p]


def _mutate(raw, path, value, delete):
    import copy

    doc = copy.deepcopy(raw)
    node = doc
    for part in path[:-1]:
        node = node[part]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def _check(raw):
    try:
        course, issues = validate_course(raw, "f.toml")
    except ConfigError:
        return
    assert (course is None) == bool(issues)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(ALL_PATHS), values, st.booleans())
def test_mutated_shipped_course(path, value, delete):
    _check(_mutate(SHIPPED_RAW, path, value, delete))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["agent", "block", "task", "x"]), values, max_size=4))
def test_random_documents(raw):
    _check(raw)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text(text):
    try:
        parse_course(text, "f.toml")
    except ConfigError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(SHIPPED_TEXT) - 1), st.text(max_size=8))
def test_spliced_shipped_text(at, junk):
    try:
        parse_course(SHIPPED_TEXT[:at] + junk + SHIPPED_TEXT[at:], "f.toml")
    except ConfigError:
        pass
