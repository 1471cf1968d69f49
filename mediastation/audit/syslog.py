"""Syslog for audit messages: RFC 5424 messages sent over TLS (RFC 5425) or UDP (RFC 5426).

The message follows IHE ITI TF-2 3.20 (Record Audit Event): facility 10 (security/authorization),
severity 5 (notice; 4, warning, for a security alert), MSGID "IHE+RFC-3881", no structured data,
the XML after a UTF-8 byte order mark. Over TLS each message is framed by its length in octets
(RFC 5425 4.3), so a message may hold any character.

A batch over TLS counts as delivered only when the repository answered our TLS close (close_notify)
with its own: it closes after it has read everything before our close, so a batch it did not read
whole is not marked sent and goes again. rsyslog answers this way (tests/test_audit_syslog.py).
UDP has no answer: a datagram given to the network counts as delivered.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

FACILITY_AUTHPRIV = 10
NOTICE, WARNING = 5, 4
MSGID = "IHE+RFC-3881"
BOM = "\ufeff"
UDP_LIMIT = 65_507  # the largest UDP payload over IPv4 (RFC 5426 3.2)


def syslog_message(xml: str, *, when: datetime, hostname: str, app_name: str = "mediastation",
                   procid: str | None = None, severity: int = NOTICE) -> str:
    """One RFC 5424 message: header, no structured data, BOM, the audit message."""
    stamp = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    fields = [f"<{FACILITY_AUTHPRIV * 8 + severity}>1", stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
              _field(hostname, 255), _field(app_name, 48), _field(procid or str(os.getpid()), 128), MSGID, "-"]
    return " ".join(fields) + " " + BOM + xml


def _field(value: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces (RFC 5424 6.2), "-" when empty."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


class SyslogError(Exception):
    """The repository could not be reached or did not take a batch (the text says what happened)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the repository listens and how to reach it."""

    host: str
    port: int
    transport: str = "tls"
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    timeout: float = 5.0

    @property
    def label(self) -> str:
        return f"{self.transport}://{self.host}:{self.port}"


def send_batch(endpoint: Endpoint, messages: Sequence[str]) -> None:
    """Send `messages` in order on one connection; returns only when the repository took them all."""
    if not messages:
        return
    try:
        if endpoint.transport == "udp":
            _send_udp(endpoint, messages)
        else:
            _send_tls(endpoint, messages)
    except ssl.SSLError as exc:
        raise SyslogError(f"{endpoint.label}: TLS failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise SyslogError(f"{endpoint.label}: {exc.strerror or exc.__class__.__name__}") from None


def _tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(endpoint.ca) if endpoint.ca else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 5425 as updated by RFC 9662
    if endpoint.cert:
        context.load_cert_chain(str(endpoint.cert), str(endpoint.key) if endpoint.key else None)
    return context


def _send_tls(endpoint: Endpoint, messages: Sequence[str]) -> None:
    """TLS driven through memory buffers, so the confirmation is exact: the batch counts only when the
    repository's own close_notify came back after ours. (A socket's `unwrap()` also returns when the
    peer just hangs up, and with TLS 1.3 a repository that refuses our certificate says so only after
    our data left: it must fail here, not pass as sent.)"""
    with socket.create_connection((endpoint.host, endpoint.port), timeout=endpoint.timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(sock, _tls_context(endpoint), endpoint.host)
        link.drive(link.tls.do_handshake)
        frames = []
        for message in messages:
            data = message.encode("utf-8")
            frames.append(b"%d %s" % (len(data), data))
        link.tls.write(b"".join(frames))
        link.flush()
        try:
            link.close()
        except (ssl.SSLError, OSError) as exc:
            raise SyslogError(f"{endpoint.label}: the repository did not confirm the batch "
                              f"({getattr(exc, 'reason', None) or exc.__class__.__name__})") from None


class _Link:
    """A TLS object on memory buffers and the socket that carries its records."""

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, host: str) -> None:
        self.sock = sock
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=host)

    def drive(self, step: Callable[[], object]) -> None:
        """Run a TLS step, carrying records both ways until it completes."""
        while True:
            try:
                step()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                data = self.sock.recv(65536)
                if data:
                    self.incoming.write(data)
                else:
                    self.incoming.write_eof()

    def close(self) -> None:
        """Our close_notify, then read until the repository's: a clean TLS closure from its side
        (SSLZeroReturnError) is the confirmation; a bare hang-up (SSLEOFError) or an alert is not."""
        try:
            self.tls.unwrap()
        except ssl.SSLWantReadError:
            pass  # ours is queued; theirs is read below
        self.flush()
        while True:
            try:
                self.drive(lambda: self.tls.read(65536))
            except ssl.SSLZeroReturnError:
                return

    def flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.sock.sendall(pending)


def _send_udp(endpoint: Endpoint, messages: Sequence[str]) -> None:
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(endpoint.timeout)
        address = socket.getaddrinfo(endpoint.host, endpoint.port, family, socket.SOCK_DGRAM)[0][4]
        for message in messages:
            data = message.encode("utf-8")
            if len(data) > UDP_LIMIT:
                raise SyslogError(f"{endpoint.label}: a message of {len(data)} bytes does not fit a UDP datagram; "
                                  "use transport = \"tls\"")
            sock.sendto(data, address)
