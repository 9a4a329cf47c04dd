"""kill -9 the daemon twice during ingestion and once during alert delivery, restart, let it finish:
no article lost or stored twice, every matched alert delivered, duplicates only inside the documented
at-least-once window (at most the one alert in flight at each kill) and recognizable by their id.
bench/crash.py runs the same scenario at many random kill points."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.crashkit import expected_matches, run_scenario

pytestmark = pytest.mark.slow


def test_kill_9_during_ingestion_and_delivery_loses_nothing(tmp_path: Path) -> None:
    kills = [("ingest", 0.25), ("ingest", 0.6), ("deliver", 0.3)]
    report = run_scenario(tmp_path, kills)
    assert report.reached == [True, True, True], report
    assert report.integrity == ["ok"] * 3
    assert report.exit_code == 0
    assert report.articles_stored == report.articles_expected == report.articles_unique_urls
    assert report.alerts_matched == expected_matches()
    assert report.alerts_sent == report.alerts_matched
    assert report.alerts_received_unique == report.alerts_matched
    # Deliveries run next to ingestion, so any kill may cut one send short (sends are sequential): at
    # most one duplicate per kill, each carrying the same X-Scraper-Id as its first copy.
    assert report.deliveries - report.alerts_received_unique <= len(kills), report
    assert len(report.duplicate_ids) <= len(kills)
