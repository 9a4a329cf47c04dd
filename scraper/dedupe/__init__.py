"""Deduplication: near-duplicate story detection (fingerprints and an LSH story index).

URL and content hashes live in scraper.normalize.urls; this package groups different articles that tell
the same story (syndicated wire copy, re-edited versions) so users are alerted once per story.
"""
