"""Where an electronic release goes, and from where (R5, R6, R15, R17).

A request decided `electronic` is sent to the configured image link of its destination (R6); one
decided `register_copy` is copied from the HUS register's node to the destination register's node
(R5). The station never sends patient data to a node nobody configured: a request's own
`destination.dicom_node` is used only when it is one of the configured destinations, else the
transfer is refused with its reason. Both are available at once (R15) and not billed (R17).
"""

from __future__ import annotations

from dataclasses import dataclass

from mediastation.domain.policy import DicomNodeSpec, ReleasePolicy
from mediastation.domain.request import ReleaseRequest

TRANSFER_CHANNELS = ("electronic", "register_copy")


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """The decided transfer: to `destination` by `method`; `source` is the node that sends when
    the method is c-move (None: the station's [archive])."""

    channel: str  # electronic | register_copy
    name: str
    destination: DicomNodeSpec
    method: str  # relay | c-move
    commitment: bool = False
    transfer_syntaxes: tuple[str, ...] = ()
    source: DicomNodeSpec | None = None


@dataclass(frozen=True, slots=True)
class TransferRefusal:
    code: str
    rule: str
    message: str


def transfer_target(request: ReleaseRequest, channel: str | None,
                    policy: ReleasePolicy) -> TransferTarget | TransferRefusal:
    """The node a release decided `channel` goes to, or why it may not go anywhere (R5, R6)."""
    if channel == "register_copy":
        return _register_copy(request, policy)
    if channel != "electronic":
        return TransferRefusal("not_electronic", "R5",
                               f"the request is released through '{channel}', not electronically")
    node = request.destination.dicom_node
    configured = policy.electronic_destination(request.destination.name)
    if node is not None:
        matching = next((d for d in policy.electronic_destinations
                         if d.node.same_as(node.ae_title, node.host, node.port)), None)
        if matching is None:
            return TransferRefusal(
                "unconfigured_node", "R6",
                f"the request names the DICOM node {node.ae_title}@{node.host}:{node.port}, which is not a configured "
                "electronic destination: the station sends patient data only to configured nodes; add it to "
                "[[release.electronic_destinations]] if it is a real image link, or correct the request")
        configured = matching
    if configured is None:
        return TransferRefusal(
            "no_electronic_link", "R6",
            f"no electronic image link to {request.destination.name!r} is configured "
            "([[release.electronic_destinations]]); release the images on media instead")
    return TransferTarget("electronic", configured.name, configured.node, configured.method, configured.commitment,
                          configured.transfer_syntaxes)


def _register_copy(request: ReleaseRequest, policy: ReleasePolicy) -> TransferTarget | TransferRefusal:
    """R5: a copy from the HUS register to the destination register inside the PACS."""
    target = policy.register(request.destination.name)
    if target is None or target.node is None:
        return TransferRefusal(
            "register_without_node", "R5",
            f"the register {request.destination.name!r} has no DICOM node configured: copy the studies in the PACS "
            "by hand and record the release with `mediastation log record`")
    sources = {study.register for study in request.studies if study.register}
    source_registers = [policy.register(code) for code in sorted(sources)]
    nodes = {r.node for r in source_registers if r is not None and r.node is not None}
    if len(nodes) > 1:
        return TransferRefusal("several_source_registers", "R5",
                               "the studies are in registers with different nodes: make one request per register")
    source = next(iter(nodes), None)
    return TransferTarget("register_copy", target.code, target.node, "c-move", source=source)
