"""Where an electronic release or register copy goes (domain/transfer.py, R5, R6), table-driven:
only to configured nodes, by the configured method, from the studies' register."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mediastation.domain.policy import DicomNodeSpec, ElectronicDestination, Register, ReleasePolicy
from mediastation.domain.transfer import TransferRefusal, TransferTarget, transfer_target
from test_release import request

KYMS = ElectronicDestination("Kymenlaakson keskussairaala", "KYMSPACS", "pacs.kymsote.example", 104,
                             method="c-move", commitment=True)
HUS_NODE = DicomNodeSpec("HUSPACS", "pacs.hus.example", 104)
REGISTERS = (Register("HUS-yhtyma", "HUS", uusimaa_area=True, node=HUS_NODE),
             Register("Kymsote", "Kymsote", node=DicomNodeSpec("KYMSREG", "reg.kymsote.example", 11112)),
             Register("Eksote", "Eksote"))
POLICY = dataclasses.replace(ReleasePolicy.default(), electronic_destinations=(KYMS,), registers=REGISTERS)
TO_KYMS = {"destination.name": "Kymenlaakson keskussairaala"}


@pytest.mark.parametrize(("changes", "channel", "expected"), [
    (TO_KYMS, "electronic", ("electronic", "KYMSPACS", "c-move", None)),
    # the request's own node counts only when it is a configured one (the same node, any case of host)
    ({**TO_KYMS, "destination.dicom_node": {"ae_title": "KYMSPACS", "host": "PACS.kymsote.example", "port": 104}},
     "electronic", ("electronic", "KYMSPACS", "c-move", None)),
    ({**TO_KYMS, "destination.dicom_node": {"ae_title": "OTHER", "host": "pacs.kymsote.example", "port": 104}},
     "electronic", "unconfigured_node"),
    ({**TO_KYMS, "destination.dicom_node": {"ae_title": "KYMSPACS", "host": "pacs.kymsote.example", "port": 105}},
     "electronic", "unconfigured_node"),
    ({"destination.name": "Terveystalo Kamppi"}, "electronic", "no_electronic_link"),
    (TO_KYMS, "cd", "not_electronic"),
    # R5: a register copy goes from the studies' register node to the destination register's node
    ({"destination.kind": "register", "destination.name": "Kymsote", "studies.0.register": "HUS-yhtyma"},
     "register_copy", ("register_copy", "KYMSREG", "c-move", "HUSPACS")),
    ({"destination.kind": "register", "destination.name": "Kymsote", "studies.0.register": "Eksote"},
     "register_copy", ("register_copy", "KYMSREG", "c-move", None)),  # a register without a node: the archive moves
    ({"destination.kind": "register", "destination.name": "Eksote"}, "register_copy", "register_without_node"),
    ({"destination.kind": "register", "destination.name": "Nowhere"}, "register_copy", "register_without_node"),
])
def test_transfer_target(changes: dict[str, Any], channel: str, expected: Any) -> None:
    decided = transfer_target(request(**changes), channel, POLICY)
    if isinstance(expected, str):
        assert isinstance(decided, TransferRefusal) and decided.code == expected
        return
    assert isinstance(decided, TransferTarget)
    source = decided.source.ae_title if decided.source else None
    assert (decided.channel, decided.destination.ae_title, decided.method, source) == expected


def test_a_configured_destination_keeps_its_commitment_and_syntaxes() -> None:
    decided = transfer_target(request(**TO_KYMS), "electronic", POLICY)
    assert isinstance(decided, TransferTarget) and decided.commitment is True


@pytest.mark.parametrize("bad", [dict(ae_title="X" * 17), dict(port=0), dict(port=70000), dict(host="")])
def test_a_node_is_valid_on_construction(bad: dict[str, Any]) -> None:
    values = {"ae_title": "A", "host": "h", "port": 104, **bad}
    with pytest.raises(ValueError):
        DicomNodeSpec(**values)


def test_an_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        ElectronicDestination("X", "X", "h", 1, method="ftp")
