"""The one similarity rule deciding whether two articles tell the same story.

Measured on the syndication test set (bench/stories.py, RESULTS.stories.md): word-trigram Jaccard
≥ 0.3 alone misses the wire brief that is the first half of a longer report; containment ≥ 0.6 of the
smaller text catches it. Containment counts half because a small text is contained by chance more
easily, and not at all below MIN_CONTAINED_SHINGLES (a share bar or a stub extraction would otherwise
be "contained" in every article of its site). One score keeps one threshold:

    score = max(jaccard, CONTAINMENT_WEIGHT * containment)     same story when score ≥ threshold
"""

from __future__ import annotations

from scraper.dedupe.fingerprint import Signature, estimate_containment, estimate_jaccard

DEFAULT_THRESHOLD = 0.3
CONTAINMENT_WEIGHT = 0.5
MIN_CONTAINED_SHINGLES = 10


def story_similarity(a: Signature, b: Signature) -> float:
    """Score in [0, 1]: Jaccard, or half the containment when the smaller text is big enough."""
    jaccard = estimate_jaccard(a, b)
    if min(a.size, b.size) < MIN_CONTAINED_SHINGLES:
        return jaccard
    return max(jaccard, CONTAINMENT_WEIGHT * estimate_containment(a, b, jaccard))


def same_story(a: Signature, b: Signature, threshold: float = DEFAULT_THRESHOLD) -> bool:
    return story_similarity(a, b) >= threshold
