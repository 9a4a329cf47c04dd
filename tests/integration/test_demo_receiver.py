"""The demo/test webhook receiver (scraper.demo.receiver) against a sender that dies mid-request."""

from __future__ import annotations

import socket
import time

from scraper.demo.receiver import WebhookReceiver


def test_a_request_cut_off_before_its_body_ends_is_not_a_delivery() -> None:
    """A daemon killed with -9 while sending leaves a short body behind; the receiver must not record it as
    a delivery (with a signature that cannot match), as test_crash.py once saw in a clean-clone run."""
    with WebhookReceiver("s") as hook:
        port = int(hook.url.split(":")[2].split("/")[0])
        body = '{"id": "تنبيه"'.encode()
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 500\r\n\r\n" + body)
        time.sleep(0.3)  # let the handler thread see the closed connection
        assert hook.deliveries == []
