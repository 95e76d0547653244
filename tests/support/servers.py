"""Tiny local servers for the gateway tests: an SMTP server that keeps what it receives,
and an HTTP server answering like an SMS provider. Both on 127.0.0.1, a free port, a
daemon thread; real sockets, so the gateways' own client code runs."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any


@dataclass
class Received:
    """What a test server got."""

    mails: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: EHLO, MAIL, RCPT, DATA, QUIT. Recipients
    at ``refused.invalid`` are refused with 550."""

    received: Received

    def _say(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self._say("220 test ESMTP")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            command = raw.decode().strip()
            verb = command.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250-test")
                self._say("250 8BITMIME")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                self._say("250 ok")
            elif verb == "RCPT":
                address = command.split(":", 1)[1].strip(" <>")
                if address.endswith("@refused.invalid"):
                    self._say("550 no such mailbox")
                else:
                    recipients.append(address)
                    self._say("250 ok")
            elif verb == "DATA":
                self._say("354 go ahead")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                self.received.mails.append(
                    {"from": sender, "to": recipients, "data": b"".join(lines)}
                )
                self._say("250 queued")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("250 ok")


@contextmanager
def smtp_server() -> Iterator[tuple[int, Received]]:
    received = Received()
    handler = type("Handler", (_SmtpHandler,), {"received": received})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def sms_provider(status: int = 200) -> Iterator[tuple[str, Received]]:
    """An SMS provider's HTTP API answering ``status`` (and ``{"id": "msg-<n>"}`` on 2xx)."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.requests.append(
                {
                    "path": self.path,
                    "authorization": self.headers.get("Authorization"),
                    "json": json.loads(body),
                }
            )
            answer = (
                json.dumps({"id": f"msg-{len(received.requests)}"})
                if status < 300
                else json.dumps({"error": "quota exceeded"})
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:  # quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms", received
    finally:
        server.shutdown()
        server.server_close()
