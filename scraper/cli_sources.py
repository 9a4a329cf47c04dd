"""`scraper sources discover URL`: find an outlet's feeds and news sitemaps and print sources.yaml entries.

Every candidate is fetched and parsed with the same code and limits the daemon uses; only the ones that
answer with items are offered (best first), so what the user pastes works."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated
from urllib.parse import urlsplit

import typer

from scraper.config import Settings
from scraper.errors import ScraperError
from scraper.fetch.client import Fetcher
from scraper.parse.discover import Candidate, discover_sources, render_candidates_yaml
from scraper.parse.feeds import parse_feed
from scraper.parse.sitemaps import parse_sitemap
from scraper.store.tables import utcnow


async def _verify(fetcher: Fetcher, cand: Candidate) -> tuple[Candidate, int, str]:
    """(candidate, items found, note). Zero items means it did not work."""
    try:
        res = await fetcher.fetch(cand.url)
        if cand.kind == "feed":
            parsed = parse_feed(res.content, res.url, res.headers.get("content-type"))
            return cand, len(parsed.items), f"{len(parsed.items)} items"
        sitemap = parse_sitemap(res.content, res.url, utcnow())
        count = len(sitemap.items) + len(sitemap.child_sitemaps)
        return cand, count, f"{len(sitemap.items)} recent entries, {len(sitemap.child_sitemaps)} child sitemaps"
    except ScraperError as exc:
        return cand, 0, f"{exc.error_class}: {exc}"


async def discover(url: str, settings: Settings) -> list[tuple[Candidate, int, str]]:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    async with Fetcher(settings, per_host_delay=0.2) as fetcher:
        home = await fetcher.fetch(url)
        from scraper.extract.decode import decode_html

        html, _enc = decode_html(home.content, home.headers.get("content-type"))
        try:
            robots = (await fetcher.fetch(f"{origin}/robots.txt", check_robots=False)).content.decode(
                "utf-8", "replace")
        except ScraperError:
            robots = None
        cands = discover_sources(html, home.url, robots)
        checked = await asyncio.gather(*(_verify(fetcher, c) for c in cands))
    return sorted(checked, key=lambda t: (t[1] == 0, -t[0].score, -t[1]))


def register(sources_app: typer.Typer, guard) -> None:  # type: ignore[no-untyped-def]
    @sources_app.command("discover")
    @guard
    def sources_discover(
        url: str,
        name: Annotated[str | None, typer.Option(help="name prefix for the entries (default: the host)")] = None,
        show_failed: Annotated[bool, typer.Option(help="also list candidates that did not answer")] = False,
    ) -> None:
        """Find feeds (<link rel=alternate>, feed links) and sitemaps (robots.txt, common paths) of a site,
        check each one, and print ready-to-paste sources.yaml entries, best first."""
        from scraper.cli_common import fail

        if not url.startswith(("http://", "https://")):
            raise fail(f"{url}: give the site's http(s) address")
        try:
            checked = asyncio.run(discover(url, Settings.from_env()))
        except ScraperError as exc:
            raise fail(f"{url}: {exc.error_class}: {exc}", code=1) from None
        working = [dataclasses.replace(c, reason=f"{c.reason}; checked: {note}") for c, n, note in checked if n]
        prefix = name or urlsplit(url).hostname or "source"
        if working:
            typer.echo(render_candidates_yaml(working, prefix.removeprefix("www.")))
        else:
            typer.echo(f"# no working feed or sitemap found for {url}", err=True)
        if show_failed:
            for c, n, note in checked:
                if not n:
                    typer.echo(f"# not working: {c.url} ({c.reason}): {note}", err=True)
        if not working:
            raise typer.Exit(1)
