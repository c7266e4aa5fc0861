"""The sample app's Feedback worker: each piece of feedback gets a sentiment and a topic, by simple rules.

It runs after the API has answered (``POST /prod/feedback`` is a 201 at once); a client that lists
its feedback a moment later sees both on the item. Word lists, not a model: no service is called.
"""

from __future__ import annotations

import re

from crud_worker import Change

POSITIVE = frozenset({"great", "love", "like", "good", "nice", "fast", "easy", "clear", "helpful", "excellent", "thanks"})
NEGATIVE = frozenset({"bad", "hate", "slow", "broken", "bug", "confusing", "ugly", "crash", "crashes", "error", "hard"})
NEGATIONS = frozenset({"not", "no", "never", "don't", "doesn't", "isn't", "wasn't"})
TOPICS = {
    "bug": frozenset({"bug", "broken", "crash", "crashes", "error", "fails", "wrong"}),
    "performance": frozenset({"slow", "fast", "speed", "loading", "lag", "quick"}),
    "design": frozenset({"layout", "grid", "list", "theme", "dark", "light", "color", "font", "ugly", "design"}),
}


def categorize(change: Change) -> None:
    """Derive ``sentiment`` and ``topic`` from the feedback text, and write them onto the item."""
    if change.after is None:
        return  # a deletion leaves nothing to describe
    words = re.findall(r"[a-z']+", change.after["feedback"].lower())
    change.update({"sentiment": sentiment(words), "topic": topic(words)})


def sentiment(words: list[str]) -> str:
    """``positive``, ``negative`` or ``neutral``: praise and complaint words counted, a word after a negation flipped."""
    score = 0
    for previous, word in zip(["", *words], words, strict=False):
        weight = 1 if word in POSITIVE else -1 if word in NEGATIVE else 0
        score += -weight if previous in NEGATIONS else weight
    return "positive" if score > 0 else "negative" if score < 0 else "neutral"


def topic(words: list[str]) -> str:
    """The topic most of the words belong to; ``other`` when none does."""
    counts = {name: sum(word in vocabulary for word in words) for name, vocabulary in TOPICS.items()}
    best = max(counts, key=counts.get)
    return best if counts[best] else "other"
