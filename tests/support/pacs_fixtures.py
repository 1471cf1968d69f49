"""Fixtures that start a real Orthanc as the PACS (Debian's package, by hand, on loopback).

`orthanc` is shared by the whole session (tests must not assume it is empty); `fresh_orthanc`
is a new, empty archive per test. Orthanc needs ~3 s to stop, so a fresh server is sent SIGTERM
at teardown and reaped at the end of the session instead of making every test wait.
Tests using either fixture get the `orthanc` marker, so `-m "not orthanc"` leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.orthanc import OrthancServer, free_port, orthanc_binary

STATION_AE = "MEDIASTATION"
ARCHIVE_AE = "HUSPACS"  # not station.toml's default "ORTHANC": a station ignoring its settings fails
_FIXTURES = {"orthanc", "fresh_orthanc"}


def _require_binary() -> None:
    if orthanc_binary() is None:
        pytest.fail("the Orthanc binary is missing (Debian package orthanc): run `make test`, "
                    "which installs it", pytrace=False)


@pytest.fixture(scope="session")
def _orthanc_reaper() -> Iterator[list[OrthancServer]]:
    """Servers already sent SIGTERM; waited for (SIGKILL after 15 s) when the session ends."""
    stopping: list[OrthancServer] = []
    yield stopping
    for server in stopping:
        server.wait_stopped()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """The session's Orthanc; the station AE "MEDIASTATION" is known to it at `station_port`."""
    _require_binary()
    server = OrthancServer(ae_title=ARCHIVE_AE, station_ae=STATION_AE, station_port=free_port(),
                           folder=tmp_path_factory.mktemp("orthanc"))
    with server:
        yield server


@pytest.fixture
def fresh_orthanc(tmp_path_factory: pytest.TempPathFactory,
                  _orthanc_reaper: list[OrthancServer]) -> Iterator[OrthancServer]:
    """An Orthanc with an empty archive, for tests that count what arrives."""
    _require_binary()
    server = OrthancServer(ae_title=ARCHIVE_AE, station_ae=STATION_AE, station_port=free_port(),
                           folder=tmp_path_factory.mktemp("fresh-orthanc"))
    server.start()
    try:
        yield server
    finally:
        server.terminate()
        _orthanc_reaper.append(server)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses an Orthanc fixture with `orthanc`."""
    for item in items:
        if _FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.orthanc)
