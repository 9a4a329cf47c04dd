"""One exception tree. Each stage raises its own error; the pipeline records expected ones on the
source's state (classified by ``error_class``) and re-raises the unexpected."""

from __future__ import annotations


class ScraperError(Exception):
    """Base of every error the project raises on purpose."""

    error_class = "error"


class ConfigError(ScraperError):
    """sources.yaml or the environment is invalid. The CLI exits with status 2."""

    error_class = "config"


class FetchError(ScraperError):
    """A fetch failed; ``url`` names what was being fetched."""

    error_class = "fetch"

    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class FetchTimeout(FetchError):
    error_class = "timeout"


class ConnectError(FetchError):
    error_class = "connect"


class DNSError(FetchError):
    error_class = "dns"


class HTTPStatusError(FetchError):
    error_class = "http_status"

    def __init__(self, message: str, url: str = "", status: int = 0, retry_after: float | None = None) -> None:
        super().__init__(message, url)
        self.status = status
        self.retry_after = retry_after


class TooLarge(FetchError):
    error_class = "too_large"


class TooManyRedirects(FetchError):
    error_class = "redirects"


class BadRedirect(FetchError):
    """A redirect whose Location cannot be parsed as a URL (e.g. ``http://[if lt IE 7]/``)."""

    error_class = "redirects"


class UnsafeURL(FetchError):
    """The URL is not http(s) or resolves to a loopback/private/link-local/multicast address."""

    error_class = "unsafe_url"


class RobotsDisallowed(FetchError):
    error_class = "robots"


class Blocked(FetchError):
    """An anti-bot wall (e.g. a Cloudflare challenge) answered instead of the page."""

    error_class = "blocked"


class ContentTypeError(FetchError):
    error_class = "content_type"


class ParseError(ScraperError):
    """A feed, sitemap or listing could not be parsed."""

    error_class = "parse"


class ExtractionError(ScraperError):
    """An article page yielded no usable title or body."""

    error_class = "extraction"


class QuerySyntaxError(ScraperError):
    """A rule or search query is malformed; ``position`` is the 0-based offset of the problem."""

    error_class = "query"

    def __init__(self, message: str, query: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.query = query
        self.position = position

    def __str__(self) -> str:
        return f"{self.message} at position {self.position}\n  {self.query}\n  {' ' * self.position}^"


class DecompressionBomb(TooLarge):
    """A compressed body decodes to far more than was sent (past the size cap or the ratio guard)."""

    error_class = "decompression_bomb"
