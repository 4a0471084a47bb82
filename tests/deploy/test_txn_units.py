"""Units of the device-side transaction: the upload archive, the journal poll, link states."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
from pathlib import Path

from core.deploy.run import build_archive, parse_poll
from core.deploy.state import BackupInfo, fingerprint, parse_stat, parse_state_output
from core.deploy.steps import StagedFile


def test_archive_unpacks_to_exactly_the_files_with_their_sums(tmp_path: Path) -> None:
    files = (StagedFile("lib.sh", b"echo lib\n"), StagedFile("config", b"secret = 1\n", True))
    data = build_archive(files)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        assert all(m.mode == 0o600 for m in tar.getmembers())
    assert names == ["lib.sh", "config", "SHA256SUMS"]
    # the device's tar and sha256sum -c accept it; one flipped byte is caught
    subprocess.run(["tar", "-x", "-o", "-f", "-", "-C", str(tmp_path)], input=data, check=True)
    assert (tmp_path / "config").read_bytes() == b"secret = 1\n"
    ok = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True,
                        check=False)
    assert ok.returncode == 0
    (tmp_path / "config").write_bytes(b"secret = 2\n")
    bad = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True,
                         check=False)
    assert bad.returncode != 0
    assert hashlib.sha256(b"echo lib\n").hexdigest() in (tmp_path / "SHA256SUMS").read_text()


def test_poll_parses_journal_and_end_sections() -> None:
    running = parse_poll("started\t2026-01-01T00:00:00Z\tx\ninstalling\t2026-01-01T00:00:01Z\n")
    assert running.state == "installing" and not running.ended
    done = parse_poll("started\tt\nrolled-back\tt\n\x1eout\ninstalled\t/a\n\x1efailure\nwhy\n"
                      "\x1echeck.out\n{}\n")
    assert done.ended and done.state == "rolled-back" and done.had("started")
    assert done.files["failure"] == "why\n" and done.files["out"] == "installed\t/a\n"
    assert parse_poll("gone\n").ended


def test_links_are_their_own_kind_with_their_target() -> None:
    f = parse_stat("/var/aziot/certs", "link 0 0 root root /etc with space")
    assert (f.kind, f.link_target, f.user) == ("link", "/etc with space", "root")
    assert fingerprint(f) == "link:/etc with space"
    assert fingerprint(parse_stat("/x", "absent")) == "absent"
    assert fingerprint(parse_stat("/x", "dir 755 0 0 root root")) == "dir"


def test_backup_lines_carry_liveness_and_the_last_journal_line() -> None:
    lines = parse_state_output(
        "backup\t/b/1\tdeployed\tended\tdeployed\t2026-12-03T10:00:00Z\n"
        "backup\t/b/2\trefused\tended\trefused\t2026-12-03T11:00:00Z\tlocked\tanother deploy\n"
        "backup\t/b/3\tstarted\tlive\tapplying\t2026-12-03T12:00:00Z\n")
    last = lines.backups[-1]
    assert last.live and last.state == "applying"
    assert last.describe() == ("/b/3 (applying) at 2026-12-03T12:00:00Z, still running on "
                               "the device")
    assert lines.backups[1].describe() == ("/b/2 (refused) at 2026-12-03T11:00:00Z (locked "
                                           "another deploy)")
    assert BackupInfo("/old", "deployed").describe() == "/old (deployed)"
    cut = BackupInfo("/b/4", "installed", False, "applying\t2026-12-03T12:00:00Z")
    assert cut.describe().endswith("cut off (the device restarted?): put it back with sudo sh "
                                   "/b/4/restore.sh")
