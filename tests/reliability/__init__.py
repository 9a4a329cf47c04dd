"""Reliability and security: hostile networks at daemon level, crash safety, database outages, fuzzing.

Every server these tests talk to listens on 127.0.0.0/8; see RELIABILITY.md for the figures."""
