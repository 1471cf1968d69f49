"""C-ECHO: is the archive there and does it accept us?"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from mediastation.errors import PacsError
from mediastation.pacs.network import DicomNode, application_entity


@dataclass(frozen=True)
class EchoResult:
    ok: bool
    ae_title: str
    host: str
    port: int
    ms: float


def echo(node: DicomNode, *, calling_ae: str, timeout: float = 10.0) -> EchoResult:
    """Associate, send C-ECHO, release. Raises PacsError naming the node when it fails."""
    ae = application_entity(calling_ae, timeout)
    ae.add_requested_context(Verification)
    started = time.perf_counter()
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title)
    if not assoc.is_established:
        why = "rejected the association" if assoc.is_rejected else "did not answer"
        raise PacsError(
            f"archive {node.ae_title}@{node.host}:{node.port} {why}; check [archive] in station.toml "
            f"and that the archive knows our AE title {calling_ae!r}",
            details={"ae_title": node.ae_title, "host": node.host, "port": node.port, "ok": False},
        )
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    ms = round((time.perf_counter() - started) * 1000, 1)
    if not status or status.Status != 0x0000:
        raise PacsError(
            f"archive {node.ae_title}@{node.host}:{node.port} answered C-ECHO with "
            f"{'no status' if not status else hex(status.Status)}",
            details={"ae_title": node.ae_title, "host": node.host, "port": node.port, "ok": False},
        )
    return EchoResult(ok=True, ae_title=node.ae_title, host=node.host, port=node.port, ms=ms)
