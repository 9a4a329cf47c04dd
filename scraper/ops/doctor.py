"""``scraper doctor``: check what a deployment needs and say how to fix what is broken.

Each check returns Findings (ok | warn | fail, what was seen, what to do). A failed check never stops
the others: one run shows everything that is wrong. Network checks are bounded by a timeout.
"""

from __future__ import annotations

import smtplib
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from sqlalchemy import Engine, text

from scraper.config import Config, EmailChannel, Settings, load_config
from scraper.errors import ScraperError

NETWORK_TIMEOUT = 5.0
DNS_WORKERS = 16


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _first_line(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0][:200]}" if msg else type(exc).__name__


def check_settings() -> tuple[list[Finding], Settings | None]:
    try:
        settings = Settings.from_env()
    except ScraperError as exc:
        return [Finding("settings", "fail", str(exc), "fix the environment variable named above "
                        "(`scraper config` prints the effective values)")], None
    return [Finding("settings", "ok", "environment settings are valid")], settings


def check_config(settings: Settings) -> tuple[list[Finding], Config | None]:
    try:
        config = load_config(settings.config_path)
    except ScraperError as exc:
        return [Finding("config", "fail", str(exc), "fix sources.yaml at the line named above, or point "
                        "SCRAPER_CONFIG at the right file; `scraper sources check` validates it")], None
    return [Finding("config", "ok", f"{settings.config_path}: {len(config.sources)} sources, "
                    f"{len(config.rules)} rules, {len(config.channels)} channels")], config


def check_database(settings: Settings) -> tuple[list[Finding], Engine | None]:
    from scraper.store.db import make_engine

    try:
        engine = make_engine(settings.database_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # every way of not reaching the database is the finding
        return [Finding("database", "fail", f"{settings.masked()['database_url']}: {_first_line(exc)}",
                        "check DATABASE_URL, and that the database server is running and accepts "
                        "connections from here")], None
    return [Finding("database", "ok", f"{settings.masked()['database_url']} is reachable")], engine


def check_migrations(engine: Engine, database_url: str) -> list[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from scraper.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return [Finding("migrations", "ok", f"schema is at the latest revision ({head})")]
    return [Finding("migrations", "fail", f"schema is at {current or 'nothing (empty database)'}, "
                    f"the code expects {head}", "run `scraper db upgrade`")]


def check_smtp(settings: Settings, config: Config) -> list[Finding]:
    if not any(isinstance(ch, EmailChannel) for ch in config.channels.values()):
        return [Finding("smtp", "ok", "no email channel configured; SMTP not needed")]
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        cls = smtplib.SMTP_SSL if settings.smtp_tls else smtplib.SMTP
        with cls(settings.smtp_host, settings.smtp_port, timeout=NETWORK_TIMEOUT) as smtp:
            code, _msg = smtp.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return [Finding("smtp", "fail", f"{where}: {_first_line(exc)}",
                        "check SMTP_HOST and SMTP_PORT (and SMTP_TLS / SMTP_STARTTLS), and that the mail "
                        "server is running")]
    if code != 250:
        return [Finding("smtp", "warn", f"{where} answered NOOP with {code}", "check the mail server's logs")]
    return [Finding("smtp", "ok", f"{where} answers")]


def _resolve(host: str) -> str | None:
    """None when ``host`` resolves, else the error text."""
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        return _first_line(exc)
    return None


def check_source_hosts(config: Config) -> list[Finding]:
    """Every enabled source's host must resolve. Hosts are resolved in parallel, each once."""
    by_host: dict[str, list[str]] = {}
    for src in config.sources:
        if src.enabled:
            by_host.setdefault(urlsplit(src.url).hostname or "", []).append(src.name)
    if not by_host:
        return [Finding("sources", "warn", "no enabled source", "add sources to sources.yaml")]
    hosts = sorted(by_host)
    # getaddrinfo has no timeout of its own; the resolver's (resolv.conf) bounds each lookup.
    with ThreadPoolExecutor(max_workers=min(DNS_WORKERS, len(hosts))) as pool:
        errors = dict(zip(hosts, pool.map(_resolve, hosts), strict=True))
    bad = [h for h in hosts if errors[h]]
    findings = [Finding(f"source {', '.join(by_host[h])}", "fail", f"{h or '(no host)'}: {errors[h]}",
                        "check the URL in sources.yaml and this machine's DNS; disable the source "
                        "(enabled: false) if the site is gone") for h in bad]
    if not bad:
        findings.append(Finding("sources", "ok", f"{len(hosts)} host(s) of {len(config.sources)} source(s) resolve"))
    return findings


def run_doctor() -> list[Finding]:
    """Every check, in dependency order; checks that need a failed prerequisite are reported as skipped
    with the reason, so the table still names them."""
    findings, settings = check_settings()
    if settings is None:
        return findings
    more, config = check_config(settings)
    findings += more
    more, engine = check_database(settings)
    findings += more
    if engine is not None:
        try:
            findings += check_migrations(engine, settings.database_url)
        finally:
            engine.dispose()
    else:
        findings.append(Finding("migrations", "fail", "not checked: the database is unreachable",
                                "fix the database finding first"))
    if config is not None:
        findings += check_smtp(settings, config)
        findings += check_source_hosts(config)
    return findings


def is_broken(findings: list[Finding]) -> bool:
    return any(f.status == "fail" for f in findings)
