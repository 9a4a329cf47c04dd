"""Email over STARTTLS and implicit TLS with authentication, against a real aiosmtpd server using a
certificate made for the test (trusted through SMTP_CA_FILE)."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from scraper.config import Settings
from tests.conftest import SMTPSink, _Handler, free_port
from tests.integration.test_outbox import alerts, deliver, make_config, queue_alert


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def _authenticator(_server, _session, _envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"scraper"
    return AuthResult(success=ok and auth_data.password == "pw-ﺱ1".encode())


def _server(certificate: tuple[Path, Path], implicit: bool) -> Iterator[SMTPSink]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(certificate[0]), str(certificate[1]))
    sink = SMTPSink(host="127.0.0.1", port=free_port())
    # aiosmtpd does not notice implicit TLS when deciding to offer AUTH, so it is told not to require it
    # there; the connection is TLS from its first byte all the same.
    kwargs: dict[str, object] = {"authenticator": _authenticator, "auth_require_tls": not implicit}
    if implicit:
        controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port, ssl_context=ctx, **kwargs)
    else:
        controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port, tls_context=ctx,
                                require_starttls=True, **kwargs)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
def test_email_over_tls_with_auth(sqlite_url: str, certificate: tuple[Path, Path], implicit: bool) -> None:
    for sink in _server(certificate, implicit):
        queue_alert(sqlite_url, ["desk"])
        settings = Settings(database_url=sqlite_url, smtp_host=sink.host, smtp_port=sink.port,
                            smtp_user="scraper", smtp_password="pw-ﺱ1", smtp_starttls=not implicit,
                            smtp_tls=implicit, smtp_ca_file=str(certificate[0]))
        report = deliver(sqlite_url, make_config("http://127.0.0.1:9/x", "s", email_to=["desk@example.org"]),
                         settings)
        assert report.sent == 1, alerts(sqlite_url)[0].last_error
        assert sink.messages[0]["Subject"].startswith("[iran-russia] ")


def test_untrusted_certificate_and_wrong_password_are_recorded_failures(
        sqlite_url: str, certificate: tuple[Path, Path]) -> None:
    for sink in _server(certificate, implicit=False):
        queue_alert(sqlite_url, ["desk"])
        cfg = make_config("http://127.0.0.1:9/x", "s", email_to=["desk@example.org"])
        untrusted = Settings(database_url=sqlite_url, smtp_host=sink.host, smtp_port=sink.port,
                             smtp_user="scraper", smtp_password="pw-ﺱ1", smtp_starttls=True)
        assert deliver(sqlite_url, cfg, untrusted).retrying == 1
        assert "SMTP 127.0.0.1" in (alerts(sqlite_url)[0].last_error or "") and sink.messages == []
