"""Helpers shared by the command modules: error handling that turns bad input into exit status 2."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer

from scraper.errors import ConfigError, QuerySyntaxError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def handles_config_errors(fn: F) -> F:
    """Configuration and query errors exit with status 2 and their message, not a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QuerySyntaxError as exc:
            rule = getattr(exc, "rule_name", None)
            text = str(exc)
            raise fail(f"rule {rule!r}: {text}" if rule and not text.startswith("rule ") else text) from None
        except ConfigError as exc:
            raise fail(str(exc)) from None

    return wrapper  # type: ignore[return-value]
