"""sources.yaml validation: every error names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.config import Settings, load_config, parse_duration
from scraper.errors import ConfigError

EXAMPLE = """\
channels:
  analysts: {type: email, to: [desk@example.org]}
  ops:      {type: webhook, url: "https://hooks.example.org/x", secret: "${WEBHOOK_SECRET}"}
rules:
  - name: iran-russia
    query: '(إيران OR طهران) AND (روسيا OR موسكو OR الكرملين)'
    channels: [analysts, ops]
sources:
  - name: bbc-arabic
    title: بي بي سي عربي
    url: https://feeds.bbci.co.uk/arabic/rss.xml
    kind: feed
    interval: 10m
    selectors: {}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_issue_example_parses_with_env_expansion(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, EXAMPLE), env={"WEBHOOK_SECRET": "s3cret"})
    assert cfg.sources[0].interval == 600.0
    assert cfg.sources[0].title == "بي بي سي عربي"
    assert cfg.channels["ops"].secret == "s3cret"  # type: ignore[union-attr]
    assert cfg.rules[0].channels == ["analysts", "ops"]


def test_missing_env_variable_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE)
    with pytest.raises(ConfigError, match=r"sources\.yaml:3: environment variable WEBHOOK_SECRET is not set"):
        load_config(path, env={})


def test_env_default_is_used_when_variable_unset(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, EXAMPLE.replace("${WEBHOOK_SECRET}", "${WEBHOOK_SECRET:-dflt}")), env={})
    assert cfg.channels["ops"].secret == "dflt"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("interval: 10m", "interval: ten", r":13: sources\.0\.interval: not a duration"),
        ("channels: [analysts, ops]", "channels: [analysts, pager]", r"unknown channel 'pager'"),
        ("kind: feed", "kind: torrent", r":12: sources\.0\.kind: Input should be 'feed', 'sitemap' or 'page'"),
        ("url: https://feeds", "url: ftp://feeds", r":11: sources\.0\.url: source url must be http\(s\)"),
        ("    selectors: {}", "    selectors: {color: red}", r":14: sources\.0\.selectors\.color: Extra inputs"),
        ("to: [desk@example.org]", "to: [desk]", r":2: channels\.analysts\.to: .*not an email address"),
    ],
)
def test_invalid_fields_are_named_with_their_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in EXAMPLE
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, EXAMPLE.replace(old, new)), env={"WEBHOOK_SECRET": "x"})


def test_page_source_needs_a_links_selector(tmp_path: Path) -> None:
    text = EXAMPLE.replace("kind: feed", "kind: page")
    with pytest.raises(ConfigError, match=r"needs selectors\.links"):
        load_config(write(tmp_path, text), env={"WEBHOOK_SECRET": "x"})


def test_duplicate_source_names_are_refused(tmp_path: Path) -> None:
    extra = "\n".join(EXAMPLE.splitlines()[8:14]) + "\n"
    with pytest.raises(ConfigError, match="duplicate source name"):
        load_config(write(tmp_path, EXAMPLE + extra), env={"WEBHOOK_SECRET": "x"})


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sources\.yaml:3: invalid YAML"):
        load_config(write(tmp_path, "sources:\n  - name: a\n  url: [unclosed\n"), env={})


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml", env={})
    bad = tmp_path / "latin.yaml"
    bad.write_bytes("sources: []\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad, env={})


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"), env={})


def test_shipped_sources_yaml_is_valid() -> None:
    cfg = load_config(Path(__file__).parents[2] / "sources.yaml", env={})
    assert len(cfg.sources) >= 15
    assert any(r.name == "iran-russia" for r in cfg.rules)


def test_durations_and_settings() -> None:
    assert parse_duration("90s") == 90 and parse_duration("2h") == 7200 and parse_duration(30) == 30
    with pytest.raises(ValueError):
        parse_duration("0m")
    s = Settings.from_env({"DATABASE_URL": "postgresql+psycopg://u:pw@db/x", "SMTP_PASSWORD": "hunter2",
                           "SCRAPER_ALLOW_PRIVATE_NETWORKS": "1"})
    masked = str(s.masked())
    assert s.allow_private_networks and "hunter2" not in masked and ":pw@" not in masked
    with pytest.raises(ConfigError, match="invalid environment setting"):
        Settings.from_env({"SMTP_PORT": "twenty-five"})
