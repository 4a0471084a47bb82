"""known_hosts reading and writing, checked against OpenSSH's own ssh-keygen."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from core.errors import HostKeyChangedError, UnreadableFileError
from core.targets.hostkeys import (
    HostKeyStatus,
    fingerprint,
    host_entry_name,
    known_keys,
    preferred_key_types,
    save_host_key,
    verify_host_key,
)


def _key(tmp_path: Path, name: str, kind: str = "ed25519") -> tuple[str, bytes]:
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", "-f", str(path)],
                   check=True)
    key_type, b64 = path.with_suffix(".pub").read_text().split()[:2]
    return key_type, base64.b64decode(b64)


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    for kind in ("ed25519", "ecdsa", "rsa"):
        _t, blob = _key(tmp_path, kind, kind)
        out = subprocess.check_output(["ssh-keygen", "-lf", str(tmp_path / f"{kind}.pub")],
                                      text=True).split()[1]
        assert fingerprint(blob) == out


def test_entry_names() -> None:
    assert host_entry_name("dev", 22) == "dev"
    assert host_entry_name("10.0.0.5", 2222) == "[10.0.0.5]:2222"


def test_lookup_rules(tmp_path: Path) -> None:
    kt, blob = _key(tmp_path, "a")
    b64 = base64.b64encode(blob).decode()
    kh = tmp_path / "known_hosts"
    kh.write_text(
        "# comment\n\n"
        f"dev,alias {kt} {b64}\n"                  # plain list
        f"[dev]:2222 {kt} {b64}\n"                # non-default port
        f"*.lab,!bad.lab {kt} {b64}\n"            # pattern with a negation
        f"@cert-authority *.ca {kt} {b64}\n"       # ignored: host certificates unused
        "broken line\n"
        f"junk {kt} !!!notbase64\n")
    assert [k.line for k in known_keys("dev", 22, [kh])] == [3]
    assert [k.line for k in known_keys("alias", 22, [kh])] == [3]
    assert [k.line for k in known_keys("dev", 2222, [kh])] == [4]
    assert known_keys("dev", 2223, [kh]) == []
    assert [k.line for k in known_keys("x.lab", 22, [kh])] == [5]
    assert known_keys("bad.lab", 22, [kh]) == []
    assert known_keys("y.ca", 22, [kh]) == []
    assert known_keys("DEV", 22, [kh])  # host names are case-insensitive
    assert known_keys("dev", 22, [tmp_path / "missing"]) == []


def test_hashed_entries_from_ssh_keygen(tmp_path: Path) -> None:
    kt, blob = _key(tmp_path, "a")
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[10.1.2.3]:2200 {kt} {base64.b64encode(blob).decode()}\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(kh)], check=True, capture_output=True)
    assert "10.1.2.3" not in kh.read_text()
    assert verify_host_key("10.1.2.3", 2200, blob, [kh]) is HostKeyStatus.KNOWN
    assert verify_host_key("10.1.2.4", 2200, blob, [kh]) is HostKeyStatus.UNKNOWN


def test_changed_other_type_and_revoked(tmp_path: Path) -> None:
    kt, blob = _key(tmp_path, "a")
    _kt2, other = _key(tmp_path, "b", "ecdsa")
    kh = tmp_path / "known_hosts"
    kh.write_text(f"dev {_kt2} {base64.b64encode(other).decode()}\n")
    assert preferred_key_types("dev", 22, [kh]) == ["ecdsa-sha2-nistp256"]
    with pytest.raises(HostKeyChangedError) as info:
        verify_host_key("dev", 22, blob, [kh])
    assert info.value.fingerprint == fingerprint(blob) and f"{kh}:1" in info.value.hint
    kh.write_text(f"dev {kt} {base64.b64encode(blob).decode()}\n"
                  f"@revoked * {kt} {base64.b64encode(blob).decode()}\n")
    with pytest.raises(HostKeyChangedError):
        verify_host_key("dev", 22, blob, [kh])


def test_save_keeps_content_and_is_idempotent(tmp_path: Path) -> None:
    kt, blob = _key(tmp_path, "a")
    own = tmp_path / "cfg" / "edgecert" / "known_hosts"
    save_host_key("dev", 2222, blob, own)
    save_host_key("dev", 2222, blob, own)
    assert own.read_text() == f"[dev]:2222 {kt} {base64.b64encode(blob).decode()}\n"
    assert (own.parent.stat().st_mode & 0o777) == 0o700
    # OpenSSH reads what we wrote.
    out = subprocess.run(["ssh-keygen", "-F", "[dev]:2222", "-f", str(own)],
                         capture_output=True, text=True, check=True).stdout
    assert kt in out


def test_unwritable_own_file_is_typed_error(tmp_path: Path) -> None:
    _kt, blob = _key(tmp_path, "a")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UnreadableFileError) as info:
        save_host_key("dev", 22, blob, blocker / "known_hosts")
    assert info.value.where and info.value.hint
