"""A real HTTP webhook receiver on 127.0.0.1 that verifies signatures (used by the demo and tests)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scraper.alert.webhook import verify


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    path: str = "/"

    @property
    def payload(self) -> dict[str, object]:
        return json.loads(self.body)


class WebhookReceiver:
    """Records every POST. ``status`` (or a callable returning one) sets what it answers."""

    def __init__(self, secret: str, status: int | Callable[[], int] = 200,
                 on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self.secret = secret
        self.status = status
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (kill -9): nothing was delivered
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify(receiver.secret, headers.get("x-scraper-timestamp", ""), body,
                            headers.get("x-scraper-signature", ""))
                code = receiver.status() if callable(receiver.status) else receiver.status
                if 200 <= code < 300:
                    delivery = Delivery(headers=headers, body=body, signature_ok=ok, path=self.path)
                    receiver.deliveries.append(delivery)
                    if on_delivery:
                        on_delivery(delivery)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
