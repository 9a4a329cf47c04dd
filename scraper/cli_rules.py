"""`scraper rules test` and `scraper rules backtest`: try a rule before turning it on."""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from scraper.config import Config, parse_duration
from scraper.match.collisions import collision_report
from scraper.match.matcher import RuleIndex, RuleSpec


def resolve_rule(rule_or_query: str, config: Config | None, scope: str | None,
                 excepts: list[str]) -> RuleSpec:
    """A configured rule by name (options override its scope/except), else the text as a query."""
    rule = next((r for r in config.rules if r.name == rule_or_query), None) if config else None
    if rule is not None:
        return RuleSpec(rule.name, rule.query, scope or rule.scope, tuple(rule.except_) + tuple(excepts))
    return RuleSpec("query", rule_or_query, scope or "document", tuple(excepts))


def print_collisions(spec: RuleSpec, limit: int = 15) -> None:
    """Words that hit only because a proclitic was peeled: the author reviews them (stderr)."""
    found = collision_report(spec)[:limit]
    if not found:
        return
    typer.echo(f"collision check for {spec.name!r}: these words hit only through a peeled و/ف/ب/ك/ل; "
               "add the unintended ones to `except`:", err=True)
    for c in found:
        typer.echo(f"  {c.word}  →  {c.term}  (peeled {c.clitics}, seen {c.count}×)", err=True)


def _inputs(files: list[Path]) -> list[tuple[str, list[str]]]:
    if not files:
        return [("<stdin>", sys.stdin.read().splitlines())]
    out = []
    for f in files:
        try:
            out.append((str(f), f.read_text(encoding="utf-8").splitlines()))
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"{f}: cannot read as UTF-8 text: {exc}") from exc
    return out


def register(app: typer.Typer, load_config_opt, guard) -> None:  # type: ignore[no-untyped-def]
    """Add the commands to the `rules` sub-app. ``load_config_opt`` returns the Config or None;
    ``guard`` turns configuration and query errors into exit status 2."""

    @app.command("test")
    @guard
    def rules_test(
        rule_or_query: str,
        files: Annotated[list[Path] | None, typer.Argument(help="article texts, one paragraph per line")] = None,
        scope: Annotated[str | None, typer.Option(help="document|paragraph|sentence")] = None,
        except_: Annotated[list[str] | None, typer.Option("--except", help="phrase whose hits do not count")] = None,
        fmt: Annotated[str, typer.Option("--format", help="text|json")] = "text",
    ) -> None:
        """Run a configured rule (by name) or a query on texts; MATCH or NO per input."""
        spec = resolve_rule(rule_or_query, load_config_opt(), scope, except_ or [])
        index = RuleIndex.build([spec])
        print_collisions(spec)
        results = []
        for name, paragraphs in _inputs(files or []):
            found = index.match("", [p for p in paragraphs if p.strip()])
            m = found[0] if found else None
            results.append({"input": name, "matched": m is not None, "terms": m.terms if m else [],
                            "snippet": m.snippet if m else ""})
        if fmt == "json":
            typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
            return
        for r in results:
            typer.echo(f"{'MATCH' if r['matched'] else 'NO':<5}  {r['input']}  {' '.join(r['terms'])}")

    @app.command("backtest")
    @guard
    def rules_backtest(
        rule: str,
        since: Annotated[str, typer.Option(help="how far back, e.g. 30d")] = "30d",
        examples: Annotated[int, typer.Option(help="how many example headlines")] = 5,
    ) -> None:
        """How many stored articles RULE would have matched, per day and per source, with examples."""
        from scraper.cli import engine_for
        from scraper.config import Settings
        from scraper.store import repo
        from scraper.store.db import session
        from scraper.store.tables import utcnow

        spec = resolve_rule(rule, load_config_opt(), None, [])
        index = RuleIndex.build([spec])
        engine = engine_for(Settings.from_env())
        start = utcnow() - timedelta(seconds=parse_duration(since))
        per_day: Counter[str] = Counter()
        per_source: Counter[str] = Counter()
        shown: list[str] = []
        scanned = 0
        with session(engine) as s:
            for art in repo.articles_since(s, start, None, limit=1_000_000):
                scanned += 1
                if not index.match(art.title or "", art.paragraphs):
                    continue
                per_day[(art.published_at or art.fetched_at).date().isoformat()] += 1
                per_source[art.source] += 1
                if len(shown) < examples:
                    shown.append(f"  {art.source}: {art.title}  {art.url}")
        typer.echo(f"{spec.name}: {sum(per_day.values())} of {scanned} stored articles since {since} would match")
        for day, n in sorted(per_day.items()):
            typer.echo(f"  {day}  {n}")
        typer.echo("per source:")
        for src, n in per_source.most_common():
            typer.echo(f"  {src:<24} {n}")
        if shown:
            typer.echo("examples:")
            typer.echo("\n".join(shown))
