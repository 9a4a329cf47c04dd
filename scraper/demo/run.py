"""`scraper demo`: the whole flow offline, for a newcomer.

A local Arabic news site with two outlets, a temporary SQLite database, the example iran-russia
rule and a local webhook receiver. It runs one pass, prints each alert as the receiver got it,
then a summary, and exits 0."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import typer

from scraper.config import Config, Settings
from scraper.demo.receiver import Delivery, WebhookReceiver
from scraper.demo.site import NewsSite

EXAMPLE_QUERY = "(إيران OR طهران) AND (روسيا OR موسكو OR الكرملين)"
SECRET = "demo-secret"


def demo_config(site: NewsSite, hook_url: str) -> Config:
    return Config.model_validate({
        "channels": {"demo-hook": {"type": "webhook", "url": hook_url, "secret": SECRET}},
        "rules": [{"name": "iran-russia", "query": EXAMPLE_QUERY, "channels": ["demo-hook"]}],
        "sources": [
            {"name": outlet, "title": outlet, "url": f"{site.base}/{outlet}/rss.xml", "kind": "feed",
             "interval": "10m", "allow_private": True}
            for outlet in site.outlets()
        ],
    })


def _print_alert(d: Delivery) -> None:
    p = d.payload
    art = p["article"]  # type: ignore[index]
    typer.echo("─" * 72)
    typer.echo(f"ALERT  rule={p['rule']}  id={p['id']}  signature={'valid' if d.signature_ok else 'INVALID'}")
    typer.echo(f"  {art['title']}")  # type: ignore[index]
    typer.echo(f"  {art['source']} · {art['published_at']} · {art['url']}")  # type: ignore[index]
    typer.echo(f"  terms: {', '.join(art['terms'])}")  # type: ignore[index]
    typer.echo(f"  {art['snippet']}")  # type: ignore[index]
    outlets = p["story"]["outlets"]  # type: ignore[index]
    typer.echo(f"  story {p['story']['id']}: carried by {', '.join(o['source'] for o in outlets)}")  # type: ignore[index]


def run_demo(keep: bool = False) -> int:
    from scraper.cli import engine_for, runtime
    from scraper.schedule.local import run_once

    with tempfile.TemporaryDirectory(prefix="scraper-demo-") as tmp, NewsSite() as site, \
            WebhookReceiver(SECRET, on_delivery=_print_alert) as hook:
        db_url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        settings = Settings(database_url=db_url, allow_private_networks=True)
        config = demo_config(site, hook.url)
        engine = engine_for(settings)
        typer.echo(f"demo news site: {site.base}  ({len(site.articles)} articles, outlets: "
                   f"{', '.join(site.outlets())})")
        typer.echo(f"rule iran-russia: {EXAMPLE_QUERY}")

        async def main() -> dict[str, int]:
            async with runtime(settings, config, engine) as rt:
                return await run_once(rt)

        totals = asyncio.run(main())
        typer.echo("─" * 72)
        typer.echo(f"summary: {totals['sources']} sources, {totals['new_articles']} articles stored, "
                   f"{totals['alerts_queued']} alert(s) queued, {len(hook.deliveries)} delivered "
                   f"(one per story, not per copy), {totals['errors']} source error(s)")
        if keep:
            typer.echo("demo site stays up; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        engine.dispose()
    return 0 if totals["errors"] == 0 else 1
