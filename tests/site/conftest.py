"""The site tests' devices: a fleet of loopback devices (``device.fleet``), started once."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from device.device import DeviceUnavailable, missing_prerequisites
from device.fleet import Fleet, start_fleet

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
FLEET_SIZE = 5


@pytest.fixture(scope="session")
def fleet_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    missing = missing_prerequisites()
    if missing:
        reason = "loopback devices unavailable, missing: " + ", ".join(missing)
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        fleet = start_fleet(tmp_path_factory.mktemp("fleet"), FLEET_SIZE)
    except DeviceUnavailable as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture
def fleet(fleet_server: Fleet) -> Fleet:
    """The fleet, every device reset and laid out as a fresh IoT Edge 1.5 install."""
    fleet_server.reset("1.5")
    return fleet_server
