"""Pytest fixtures for the loopback IoT Edge test device (registered in tests/conftest.py).

The device is a REAL OpenSSH sshd on 127.0.0.1 (a free port) inside a private mount and UTS
namespace, with its own ``/etc`` (users, groups, shadow, sudoers), ``/var``, ``/home``,
``/usr/local/bin`` and ``/tmp`` (see ``device.py``); the machine's own files are never touched.
One device per test session (startup ~0.3 s); each test gets it reset.

Fixtures
    ``device_server`` (session): the running ``Device``, not reset.
    ``device``: the same device, reset before the test (no IoT Edge folders, empty homes,
        original host key, no extra mounts, stand-in state cleared).
    ``device15`` / ``device14`` / ``device12`` / ``device11``: ``device`` laid out as a fresh
        install of that IoT Edge release (``layouts.layout``).

Accounts (``device.accounts[name]`` → ``Account(user, key, password)``)
    ``edgeadmin``     key login, passwordless sudo (NOPASSWD)
    ``pwadmin``       key or password login (``PW_ADMIN_PASSWORD``), sudo asks the password
    ``iotedge-user``  key login, passwordless sudo (EFLOW's user)
    Service users as installed: aziotks, aziotcs (also in aziotks), aziotid, aziottpm, iotedge.

Device API (``Device``)
    ``host``, ``port``, ``hostname`` (``edge-device-01``), ``known_hosts`` (file with the
    current host key), ``fingerprint()`` (``SHA256:…`` as ``ssh-keygen -lf`` prints it)
    ``connect(user="edgeadmin", **overrides)`` → ``SshTarget`` (key, sudo password, known_hosts)
    ``sh(script, *args, input=None, check=True, user=None)`` → run ``sh -c`` inside the device as
        root (or as ``user``); ``read(path)``, ``exists(path)``, ``stat(path)`` →
        ``(mode, owner, group)``, ``write(path, data, mode=, owner=, group=)``,
        ``snapshot(*roots)`` → ``{path: "type mode owner:group sha256"}`` for byte-for-byte
        before/after comparisons
    ``local(device_path)`` → the test machine's path of a file under /etc, /var, /home, /tmp
    ``mount_small_fs(path, size_kib=256)`` → tmpfs there (disk full); ``unmount(path)``
    ``kill_connection(local_port=None)`` → SIGKILL the sshd session of one connection
        (``SshTarget.local_port``) or of all; ``session_pids(local_port=None)``
    ``rotate_host_key()`` → new host key, sshd restarted, returns the new fingerprint
        (``known_hosts`` keeps the old one: a changed-key scenario)
    ``set_version("1.5.21")``, ``fail_next_apply(message)`` / ``fail_apply_off()``,
        ``fail_apply_for(subject_text)`` (only that edge CA is refused), ``add_edge_containers()``
        (a hostname change is refused),
        ``events()`` → what the stand-in runtime recorded (apply, restart, check …)
    ``hold(step, match="")`` / ``wait_reached(step)`` / ``release(step)`` → stop the device at a
        step until released, for fault injection: ``tar`` (the upload being unpacked), ``flock``
        (the transaction taking its lock), ``install`` (a file being installed; ``match``
        selects the call by its arguments), ``apply`` and ``check`` (the stand-in runtime)
    ``transactions()`` → each deploy transaction folder's journal states;
        ``wait_transactions_ended()``; ``stage_folders()`` → staging folders left anywhere

The stand-in runtime (``standin/iotedge`` and ``standin/systemctl``, on the device's PATH and
in sudo's secure_path): ``iotedge version``, ``iotedge config apply [-c FILE]``,
``iotedge check [--verbose] [-o text|json|json-stream]``, ``iotedge system restart``;
on 1.1 ``systemctl restart iotedge`` validates config.yaml's certificate triple. A knob file
``/etc/iotedge-standin/time32`` makes a 1.1 device 32-bit (chain must end before 2038).

Prerequisites: root, unshare, nsenter, sshd, sudo, openssl, /usr/bin/python3. Missing ones
FAIL the test when ``CI=true`` and skip it (with the reason) otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ci import IN_CI, unavailable

from .device import Account, Device, DeviceUnavailable, missing_prerequisites, start_device
from .layouts import layout

__all__ = ["IN_CI", "Account", "Device"]


@pytest.fixture(scope="session")
def device_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Device]:
    missing = missing_prerequisites()
    if missing:
        unavailable("loopback device unavailable, missing: " + ", ".join(missing))
    try:
        dev = start_device(tmp_path_factory.mktemp("device"))
    except DeviceUnavailable as exc:
        unavailable(str(exc))
    try:
        yield dev
    finally:
        dev.stop()


@pytest.fixture
def device(device_server: Device) -> Device:
    device_server.reset()
    return device_server


@pytest.fixture
def device15(device: Device) -> Device:
    layout(device, "1.5")
    return device


@pytest.fixture
def device14(device: Device) -> Device:
    layout(device, "1.4")
    return device


@pytest.fixture
def device12(device: Device) -> Device:
    layout(device, "1.2")
    return device


@pytest.fixture
def device11(device: Device) -> Device:
    layout(device, "1.1")
    return device
