"""core.deploy.compare: the device's certificates now beside what a plan installs."""

from __future__ import annotations

import datetime as dt

from certs import make_cert, pem

from core.deploy import compare


def _cert(cn: str, issuer: str, days: int) -> bytes:
    """``cn`` issued by ``issuer`` (self-signed when the names are equal) from 2026-01-01."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    signer = None if issuer == cn else make_cert(issuer)
    return pem(make_cert(cn, issuer=signer, not_before=start,
                         not_after=start + dt.timedelta(days=days)).cert)


def test_edge_ca_chain_file_compares_its_first_certificate() -> None:
    old = _cert("old.ca", "Old Intermediate", 30) + _cert("Old Intermediate", "Old Root", 90)
    new = _cert("new.ca", "New Intermediate", 60) + _cert("New Intermediate", "New Root", 90)
    [change] = compare.compare(
        [("edge CA", compare.side("/var/aziot/certs/edge-ca.pem", old, first_only=True))],
        [("edge CA", compare.side("/var/aziot/certs/edge-ca.pem", new, first_only=True))])
    assert change.changed
    [before], [after] = change.before.certs, change.after.certs
    assert (before.subject, before.issuer) == ("CN=old.ca", "CN=Old Intermediate")
    assert (after.subject, after.issuer) == ("CN=new.ca", "CN=New Intermediate")
    assert after.not_after == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    assert len(after.sha256.split(":")) == 32 and before.sha256 != after.sha256


def test_same_certificates_are_unchanged_and_untouched_roles_stay() -> None:
    root = _cert("Root", "Root", 365)
    bundle = compare.side("/var/aziot/certs/trust.pem", root)
    edge = compare.side("/var/aziot/certs/edge-ca.pem", _cert("a.ca", "Root", 30),
                        first_only=True)
    changes = compare.compare([("edge CA", edge), ("trust bundle", bundle)],
                              [("edge CA", compare.side("", None, note="made by the device"))])
    by_role = {c.role: c for c in changes}
    assert by_role["edge CA"].changed and by_role["edge CA"].after.note == "made by the device"
    assert not by_role["trust bundle"].changed  # the plan does not touch it
    assert [c.role for c in changes] == ["edge CA", "trust bundle"]


def test_missing_and_unparsable_sides_say_why() -> None:
    assert compare.side("/x", None).note == "none"
    assert compare.side("/x", b"not a certificate").note == "not a PEM certificate"
    [change] = compare.compare([], [("trust bundle", compare.side("/t", _cert("R", "R", 9)))])
    assert change.changed and change.before.note == "none"


def test_current_cert_paths_from_the_config() -> None:
    toml = (b'trust_bundle_cert = "file:///var/aziot/certs/trust.pem"\n[edge_ca]\n'
            b'cert = "file:///var/aziot/certs/edge-ca.pem"\npk = "file:///var/aziot/k.pem"\n')
    assert compare.current_cert_paths(toml, legacy=False) == (
        ("edge CA", "/var/aziot/certs/edge-ca.pem"),
        ("trust bundle", "/var/aziot/certs/trust.pem"))
    assert compare.current_cert_paths(None, legacy=False) == ()
