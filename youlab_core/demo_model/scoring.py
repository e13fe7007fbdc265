"""Lexical relatedness: which sentences of a transcript talk about what a question asks.

Deliberately simple and deterministic (no model, no randomness): words are lower-cased, stop words dropped, a few
English suffixes stripped, and each sentence is scored by the rarer question words it shares (IDF weighting), so
"grandmother" counts for more than "write" when a student writes about writing all the time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before being below between
    both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few for from
    further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his
    how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor
    not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll she's should
    shouldn't so some such than that that's the their theirs them themselves then there there's these they they'd
    they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're we've were
    weren't what what's when when's where where's which while who who's whom why why's with won't would wouldn't you
    you'd you'll you're you've your yours yourself yourselves
    student students student's user user's learner person anything something thing things much many also just
    really like get got know think want wants s t im ive dont
    describe tell say said says kind sort current currently yet
    """.split()
)

# Words too generic to name a topic (for titles and coaching replies, not for scoring).
_GENERIC = frozenset(
    "write writing wrote written help need make going work working please could would hello thanks thank okay".split()
)

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def stem(word: str) -> str:
    """A crude suffix stripper: enough that 'essays'/'essay' and 'writing'/'write' meet."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in ("ingly", "edly", "ing", "ied", "ies", "ed", "es", "ly", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)] + ("y" if suffix in ("ied", "ies") else "")
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def content_words(text: str) -> list[str]:
    """Stemmed words of `text` that carry meaning (stop words dropped), in order."""
    words = []
    for match in _WORD.finditer(text.lower().replace("’", "'")):
        word = match.group(0)
        if word in STOP_WORDS or len(word) < 2:
            continue
        words.append(stem(word))
    return words


def split_sentences(text: str) -> list[str]:
    """Sentences (and lines) of `text`, stripped, bullets removed, empties dropped."""
    sentences = []
    for piece in _SENTENCE_END.split(text):
        piece = _BULLET.sub("", piece).strip()
        if piece:
            sentences.append(piece)
    return sentences


def sentence_key(sentence: str) -> str:
    """What makes two sentences 'the same' for de-duplication: case, spacing and end punctuation ignored."""
    return " ".join(sentence.lower().split()).rstrip(".!?;:, ")


RELATIVE_CUTOFF = 0.5


def related_sentences(question: str, texts: Iterable[str], limit: int = 3) -> list[str]:
    """Up to `limit` sentences from `texts` most related to `question`, in their original order.

    Score: the sum of inverse document frequencies of the question's content words a sentence contains. Ties go to
    the later sentence (newer statements win). Sentences sharing no content word with the question are never returned,
    nor those scoring under half the best sentence's score.
    """
    sentences: list[str] = []
    seen: set[str] = set()
    for text in texts:
        for sentence in split_sentences(text):
            key = sentence_key(sentence)
            if key and key not in seen:
                seen.add(key)
                sentences.append(sentence)
    terms = set(content_words(question))
    if not terms or not sentences:
        return []
    bags = [set(content_words(s)) for s in sentences]
    total = len(sentences)
    idf = {t: math.log(1 + total / (1 + sum(1 for bag in bags if t in bag))) for t in terms}
    scored: list[tuple[float, int]] = []
    for index, bag in enumerate(bags):
        score = sum(idf[t] for t in sorted(terms & bag))  # fixed order: same float sum whatever the hash seed
        if score > 0:
            scored.append((score, index))
    scored.sort(key=lambda item: (-item[0], -item[1]))
    # Keep answers focused: a sentence sharing only a common word with the question is dropped when others match
    # it much better (less than half the best score).
    best = scored[0][0] if scored else 0.0
    chosen = sorted(index for score, index in scored[:limit] if score >= best * RELATIVE_CUTOFF)
    return [sentences[i] for i in chosen]


def count_tokens(text: str) -> int:
    """An approximate token count (words and punctuation marks), stable across runs and platforms."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def top_keywords(texts: Sequence[str], limit: int = 2) -> list[str]:
    """The most frequent content words (unstemmed, first spelling seen) across `texts`; ties by first appearance."""
    counts: dict[str, int] = {}
    spelling: dict[str, str] = {}
    for text in texts:
        for match in _WORD.finditer(text):
            raw = match.group(0)
            lower = raw.lower()
            if lower in STOP_WORDS or lower in _GENERIC or len(lower) < 4 or lower.isdigit():
                continue
            key = stem(lower)
            counts[key] = counts.get(key, 0) + 1
            spelling.setdefault(key, lower)
    order = {key: i for i, key in enumerate(spelling)}
    ranked = sorted(counts, key=lambda k: (-counts[k], order[k]))
    return [spelling[k] for k in ranked[:limit]]
