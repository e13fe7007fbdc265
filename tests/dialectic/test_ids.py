import re

from youlab_core.dialectic import honcho_id, honcho_peer_id, honcho_session_id

HONCHO_RULE = re.compile(r"^[a-zA-Z0-9_-]+$")


def test_uuid_ids_stay_readable():
    assert honcho_peer_id("3f2a-11") == "student_3f2a-11"
    assert honcho_session_id("c0ffee_1") == "chat_c0ffee_1"


def test_unsafe_ids_are_escaped_and_valid():
    for raw in ["a.b", "user@example.com", "ünï", "a b/c", "x" * 600, "_", "-"]:
        made = honcho_session_id(raw)
        assert HONCHO_RULE.match(made), made
        assert len(made) <= 512
        assert made == honcho_session_id(raw)  # deterministic


def test_no_collisions_between_similar_ids():
    raws = ["a.b", "a_b", "a/b", "a b", "a@b", "x" * 600, "x" * 601, "studentx_a_b", "x_a_b"]
    raws += ["a_b_" + "0" * 32, "x" * 498]
    made = [honcho_id("student", r) for r in raws]
    assert len(set(made)) == len(raws)


def test_an_escaped_id_never_equals_a_safe_one():
    # The escaped form of "a.b" looks like a safe raw id; it is still a different Honcho id than that raw id gives.
    escaped = honcho_peer_id("a.b")
    lookalike = escaped.removeprefix("student")  # "x_a_b_<hash>"
    assert honcho_peer_id(lookalike) != escaped
