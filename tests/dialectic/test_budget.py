from youlab_core.dialectic import HistoryMessage, estimate_tokens, take_newest


def m(text, role="user"):
    return HistoryMessage(role, text)


def test_estimate_is_chars_over_four_plus_overhead():
    assert estimate_tokens("") == 4
    assert estimate_tokens("abcd") == 5
    assert estimate_tokens("abcde") == 6


def test_keeps_the_newest_messages_in_order():
    messages = [m("a" * 40), m("b" * 40), m("c" * 40)]  # 14 tokens each
    kept, used = take_newest(messages, 30)
    assert [k.content[0] for k in kept] == ["b", "c"]
    assert used == 28


def test_a_single_huge_message_is_cut_not_dropped():
    kept, used = take_newest([m("x" * 1000)], 20)
    assert len(kept) == 1 and kept[0].content.endswith("[...]")
    assert used <= 20


def test_nothing_fits_in_a_tiny_budget():
    assert take_newest([m("hello")], 0) == ([], 0)
