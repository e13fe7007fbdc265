from youlab_core.demo_model.scoring import (
    content_words,
    count_tokens,
    related_sentences,
    sentence_key,
    split_sentences,
    stem,
    top_keywords,
)


def test_stem_brings_word_forms_together():
    assert stem("essays") == stem("essay")
    assert stem("writing") == stem("write")
    assert stem("worries") == stem("worry")
    assert stem("Grandmother's") == stem("grandmother")


def test_content_words_drop_stop_words():
    assert content_words("What is the student's favourite BOOK?") == [stem("favourite"), "book"]


def test_split_sentences_handles_bullets_and_lines():
    assert split_sentences("- One thing.\n2) Two! Three? four") == ["One thing.", "Two!", "Three?", "four"]


def test_related_sentences_prefers_rare_shared_words_and_keeps_order():
    texts = [
        "I write every day. My essay is about my grandmother's garden.",
        "I write poems too.",
        "The garden had tomatoes.",
    ]
    got = related_sentences("What about the garden?", texts, limit=2)
    assert got == ["My essay is about my grandmother's garden.", "The garden had tomatoes."]
    assert related_sentences("garden", texts, limit=1) == ["The garden had tomatoes."]


def test_weak_matches_are_dropped_when_a_strong_one_exists():
    texts = ["My essay is about my grandmother's garden.", "The garden had tomatoes."]
    # the first sentence shares both words, the second only one (under half the best score)
    assert related_sentences("essay grandmother garden", texts) == ["My essay is about my grandmother's garden."]


def test_related_sentences_empty_when_nothing_shared():
    assert related_sentences("favourite food?", ["I play soccer."]) == []
    assert related_sentences("what is it?", ["anything"]) == []  # only stop words in the question


def test_duplicates_are_returned_once():
    got = related_sentences("soccer?", ["I play soccer.", "i play  soccer", "Soccer is fun."], limit=5)
    assert got == ["I play soccer.", "Soccer is fun."]


def test_ties_go_to_the_newer_sentence():
    got = related_sentences("soccer", ["Soccer A.", "Soccer B.", "Soccer C."], limit=1)
    assert got == ["Soccer C."]


def test_helpers():
    assert sentence_key("  Hello   World. ") == "hello world"
    assert count_tokens("Hello, world!") == 4
    assert top_keywords(["Grandmother garden garden. Write write write."]) == ["garden", "grandmother"]
