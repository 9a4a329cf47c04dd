"""Settings from the environment and the sources.yaml schema, validated once at start.

An invalid sources.yaml raises ConfigError naming the file, the line and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from scraper.errors import ConfigError

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def parse_duration(value: str | int | float) -> float:
    """'10m' → 600.0 seconds; plain numbers are seconds."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION_RE.match(str(value))
        if not m:
            raise ValueError(f"not a duration: {value!r} (use e.g. 90s, 10m, 2h, 7d)")
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {value!r}")
    return seconds


def _choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Process settings from the environment. Every field has a default."""

    database_url: str = "sqlite:///./data/scraper.db"  # DATABASE_URL
    config_path: str = "./sources.yaml"  # SCRAPER_CONFIG
    allow_private_networks: bool = False  # SCRAPER_ALLOW_PRIVATE_NETWORKS: allow loopback/private URLs
    user_agent: str = "scraper/0.1 (+https://github.com/scraper-news/scraper)"  # SCRAPER_USER_AGENT
    smtp_host: str = "localhost"  # SMTP_HOST
    smtp_port: int = 25  # SMTP_PORT
    smtp_user: str | None = None  # SMTP_USER
    smtp_password: str | None = None  # SMTP_PASSWORD (secret)
    smtp_from: str = "scraper@localhost"  # SMTP_FROM
    smtp_starttls: bool = False  # SMTP_STARTTLS
    smtp_tls: bool = False  # SMTP_TLS: implicit TLS (port 465)
    smtp_ca_file: str | None = None  # SMTP_CA_FILE: CA bundle to trust for the SMTP server (self-signed relays)
    alert_max_age: float = 72 * 3600.0  # SCRAPER_ALERT_MAX_AGE: dead-lettered after failing this long (72h: a weekend)
    alert_max_attempts: int = 0  # SCRAPER_ALERT_MAX_ATTEMPTS: optional second cap on attempts; 0 = none (age decides)
    fetch_timeout: float = 20.0  # SCRAPER_FETCH_TIMEOUT: seconds for a whole fetch
    max_body_bytes: int = 10_000_000  # SCRAPER_MAX_BODY_BYTES
    tick_seconds: float = 30.0  # SCRAPER_TICK_SECONDS: how often the daemon looks for due sources
    per_host_concurrency: int = 2  # SCRAPER_PER_HOST_CONCURRENCY: requests in flight to one host
    per_host_delay: float = 0.5  # SCRAPER_PER_HOST_DELAY: seconds between request starts on one host
    global_concurrency: int = 32  # SCRAPER_GLOBAL_CONCURRENCY: requests in flight in all
    web_host: str = "127.0.0.1"  # SCRAPER_WEB_HOST: where `scraper run` serves the API and pages
    web_port: int = 8080  # SCRAPER_WEB_PORT: 0 turns the web server off in `scraper run`
    scheduler: str = "local"  # SCRAPER_SCHEDULER: local (APScheduler in `run`) | queue (`scraper worker`s)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        e = os.environ if env is None else env
        try:
            return cls(
                database_url=e.get("DATABASE_URL") or cls.database_url,
                config_path=e.get("SCRAPER_CONFIG") or cls.config_path,
                allow_private_networks=_truthy(e.get("SCRAPER_ALLOW_PRIVATE_NETWORKS")),
                user_agent=e.get("SCRAPER_USER_AGENT") or cls.user_agent,
                smtp_host=e.get("SMTP_HOST") or cls.smtp_host,
                smtp_port=int(e.get("SMTP_PORT") or cls.smtp_port),
                smtp_user=e.get("SMTP_USER") or None,
                smtp_password=e.get("SMTP_PASSWORD") or None,
                smtp_from=e.get("SMTP_FROM") or cls.smtp_from,
                smtp_starttls=_truthy(e.get("SMTP_STARTTLS")),
                smtp_tls=_truthy(e.get("SMTP_TLS")),
                smtp_ca_file=e.get("SMTP_CA_FILE") or None,
                alert_max_age=parse_duration(e.get("SCRAPER_ALERT_MAX_AGE") or cls.alert_max_age),
                alert_max_attempts=int(e.get("SCRAPER_ALERT_MAX_ATTEMPTS") or cls.alert_max_attempts),
                fetch_timeout=float(e.get("SCRAPER_FETCH_TIMEOUT") or cls.fetch_timeout),
                max_body_bytes=int(e.get("SCRAPER_MAX_BODY_BYTES") or cls.max_body_bytes),
                tick_seconds=float(e.get("SCRAPER_TICK_SECONDS") or cls.tick_seconds),
                per_host_concurrency=int(e.get("SCRAPER_PER_HOST_CONCURRENCY") or cls.per_host_concurrency),
                per_host_delay=float(e.get("SCRAPER_PER_HOST_DELAY") or cls.per_host_delay),
                global_concurrency=int(e.get("SCRAPER_GLOBAL_CONCURRENCY") or cls.global_concurrency),
                web_host=e.get("SCRAPER_WEB_HOST") or cls.web_host,
                web_port=int(e.get("SCRAPER_WEB_PORT") if e.get("SCRAPER_WEB_PORT") is not None else cls.web_port),
                scheduler=_choice(e.get("SCRAPER_SCHEDULER") or cls.scheduler, "SCRAPER_SCHEDULER", ("local", "queue")),
            )
        except ValueError as exc:
            raise ConfigError(f"invalid environment setting: {exc}") from exc

    def masked(self) -> dict[str, Any]:
        """Effective settings with secrets masked, for `scraper config`."""
        out = dict(self.__dict__)
        if out["smtp_password"]:
            out["smtp_password"] = "********"
        out["database_url"] = re.sub(r"://([^:/@]+):[^@]+@", r"://\1:********@", out["database_url"])
        return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Selectors(_Strict):
    """Per-source CSS selectors; each is optional."""

    title: str | None = None
    body: str | None = None
    date: str | None = None
    author: str | None = None
    links: str | None = None
    remove: list[str] = Field(default_factory=list)


class EmailChannel(_Strict):
    type: Literal["email"]
    to: list[str] = Field(min_length=1)

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for addr in v:
            if "@" not in addr or " " in addr.strip():
                raise ValueError(f"not an email address: {addr!r}")
        return v


class WebhookChannel(_Strict):
    type: Literal["webhook"]
    url: str
    secret: str = Field(min_length=1)
    timeout: float = 10.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"webhook url must be http(s): {v!r}")
        return v


class SlackChannel(_Strict):
    """A Slack incoming webhook."""

    type: Literal["slack"]
    url: str = Field(pattern=r"^https?://")
    timeout: float = 10.0


class TelegramChannel(_Strict):
    """A Telegram bot posting to a chat (the bot token is a secret: use ${TELEGRAM_BOT_TOKEN})."""

    type: Literal["telegram"]
    bot_token: str = Field(min_length=1)
    chat_id: str = Field(min_length=1)
    api_base: str = Field(default="https://api.telegram.org", pattern=r"^https?://")
    timeout: float = 10.0


Channel = Annotated[EmailChannel | WebhookChannel | SlackChannel | TelegramChannel, Field(discriminator="type")]


class Rule(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    query: str = Field(min_length=1)
    channels: list[str] = Field(default_factory=list)
    scope: Literal["document", "paragraph", "sentence"] = "document"
    except_: list[str] = Field(default_factory=list, alias="except")
    lang: str = "ar"
    mode: Literal["immediate", "hourly", "daily"] = "immediate"
    throttle: int | None = Field(default=None, ge=1)  # immediate alerts per hour per channel; the rest wait
    # for the hourly digest instead of flooding the receiver

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Source(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    title: str | None = None
    url: str
    kind: Literal["feed", "sitemap", "page"] = "feed"
    interval: float = 600.0
    min_interval: float | None = None
    max_interval: float | None = None
    selectors: Selectors = Field(default_factory=Selectors)
    allow_private: bool = False
    enabled: bool = True

    @field_validator("interval", "min_interval", "max_interval", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)

    @field_validator("url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"source url must be http(s): {v!r}")
        return v

    @model_validator(mode="after")
    def _page_needs_links(self) -> Source:
        if self.kind == "page" and not self.selectors.links:
            raise ValueError("kind: page needs selectors.links (a CSS selector for article links)")
        return self


class Config(_Strict):
    channels: dict[str, Channel] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        for kind, names in (("source", [s.name for s in self.sources]), ("rule", [r.name for r in self.rules])):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} name(s): {', '.join(dupes)}")
        for rule in self.rules:
            for ch in rule.channels:
                if ch not in self.channels:
                    raise ValueError(f"rule {rule.name!r} names unknown channel {ch!r}")
        return self

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


def _expand_env(node: yaml.Node, path: str, env: dict[str, str]) -> None:
    """Replace ${VAR} in scalar values in place; a missing variable is a ConfigError."""
    if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) and "${" in node.value:
        def repl(m: re.Match[str]) -> str:
            if m.group(1) in env:
                return env[m.group(1)]
            if m.group(2) is not None:  # ${VAR:-default}
                return m.group(2)
            raise ConfigError(f"{path}:{node.start_mark.line + 1}: environment variable {m.group(1)} is not set")

        node.value = _ENV_RE.sub(repl, node.value)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _expand_env(child, path, env)
    elif isinstance(node, yaml.MappingNode):
        for _key, child in node.value:
            _expand_env(child, path, env)


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """1-based line of the YAML node at pydantic error location ``loc`` (the deepest one found)."""
    node, line = root, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def load_config(path: str | Path, env: dict[str, str] | None = None) -> Config:
    """Read and validate sources.yaml. Raises ConfigError naming the file, line and field."""
    p = Path(path)
    env = dict(os.environ) if env is None else env
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: config file is not UTF-8: {exc}") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from exc
    if root is None:
        raise ConfigError(f"{p}: config file is empty")
    _expand_env(root, str(p), env)
    data = yaml.SafeLoader(yaml.serialize(root)).get_single_data()
    if not isinstance(data, dict):
        raise ConfigError(f"{p}:1: top level must be a mapping with channels, rules and sources")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        tags = {"email", "webhook", "slack", "telegram"}  # pydantic's discriminator level, not a YAML key
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x in tags))
        field = ".".join(str(x) for x in loc) or "(top level)"
        line = _line_of(root, loc)
        where = f":{line}" if line else ""
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more error(s))" if exc.error_count() > 1 else ""
        raise ConfigError(f"{p}{where}: {field}: {msg}{more}") from exc
