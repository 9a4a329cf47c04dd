"""`scraper sources discover`: candidates are fetched and parsed; only working ones are offered."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from scraper.config import Source
from scraper.demo.site import NewsSite


def test_discover_offers_only_feeds_that_answer_best_first() -> None:
    with NewsSite() as site:
        home = ('<html><head><link rel="alternate" type="application/rss+xml" title="الوسط" '
                'href="/al-wasat/rss.xml"></head><body><a href="/al-khabar/rss.xml">RSS</a>'
                '<a href="/broken/feed.xml">feed</a></body></html>')
        site.routes["/"] = (200, "text/html; charset=utf-8", home.encode())
        site.routes["/robots.txt"] = (200, "text/plain", f"User-agent: *\nSitemap: {site.base}/news.xml\n".encode())
        env = {**os.environ, "SCRAPER_ALLOW_PRIVATE_NETWORKS": "1"}
        proc = subprocess.run([sys.executable, "-m", "scraper", "sources", "discover", site.base + "/",
                               "--name", "wasat", "--show-failed"], env=env, capture_output=True, text=True,
                              timeout=120)
    assert proc.returncode == 0, proc.stderr
    entries = yaml.safe_load(proc.stdout)
    assert [e["url"] for e in entries] == [f"{site.base}/al-wasat/rss.xml", f"{site.base}/al-khabar/rss.xml"]
    assert entries[0]["title"] == "الوسط" and entries[0]["name"].startswith("wasat")
    for e in entries:  # ready to paste: each validates against the sources.yaml schema
        Source.model_validate(e)
    assert f"not working: {site.base}/news.xml" in proc.stderr and "404" in proc.stderr
    assert "/broken/feed.xml" in proc.stderr


def test_discover_on_an_unreachable_site_fails_clearly() -> None:
    proc = subprocess.run([sys.executable, "-m", "scraper", "sources", "discover", "http://127.0.0.1:9/"],
                          env={**os.environ, "SCRAPER_ALLOW_PRIVATE_NETWORKS": "1"}, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert "error: http://127.0.0.1:9/: connect" in proc.stderr and "Traceback" not in proc.stderr
