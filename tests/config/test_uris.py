"""file:// and pkcs11: URIs as the runtime reads them; PINs never appear in errors."""

from __future__ import annotations

import pytest

from core.config.errors import UriError
from core.config.uris import (
    check_file_uri,
    file_uri,
    file_uri_advice,
    file_uri_path,
    is_pkcs11,
    parse_pkcs11_uri,
    url_problem,
)
from core.errors import DevicePathError


def test_file_uri_is_absolute_and_percent_encoded() -> None:
    assert file_uri("/var/aziot/certs/edge ca#1.pem") == "file:///var/aziot/certs/edge%20ca%231.pem"
    assert file_uri("C:\\Program Data\\certs\\ca.pem") == "file:///C:/Program%20Data/certs/ca.pem"


def test_file_uri_rejects_relative_path() -> None:
    with pytest.raises(DevicePathError, match="relative"):
        file_uri("certs/ca.pem")


@pytest.mark.parametrize("path", ["/var/aziot/certs/../../../etc/shadow", "/var/aziot/./x.pem",
                                  "/var//aziot/x.pem", "/var/aziot/x\n.pem"])
def test_file_uri_refuses_what_the_url_parser_would_rewrite(path: str) -> None:
    # the runtime's URL parser resolves dot segments: the path is judged as typed
    with pytest.raises(DevicePathError, match=r"not normalised|control character"):
        file_uri(path)


@pytest.mark.parametrize("path", ["/var/aziot/certs/ä b.pem", "C:\\x y\\ca.pem", "/a/%41.pem"])
def test_round_trip(path: str) -> None:
    uri = file_uri(path)
    check_file_uri(uri)
    assert file_uri_path(uri) == path


@pytest.mark.parametrize(("uri", "message", "hint"), [
    ("/var/aziot/certs/ca.pem", "not a file://", "file:///var/aziot/certs/ca.pem"),
    ("https://example.org/ca.pem", "not a file://", "file:///"),
    ("file://var/aziot/ca.pem", "names a host", "three slashes"),
    ("file:///var/aziot/%FF.pem", "not UTF-8", "Percent-encode"),
])
def test_bad_file_uris(uri: str, message: str, hint: str) -> None:
    with pytest.raises(UriError, match=message) as info:
        check_file_uri(uri, where="config.toml")
    assert hint in info.value.hint


def test_pkcs11_parts_decoded() -> None:
    uri = parse_pkcs11_uri("pkcs11:slot-id=0;object=edge%20ca?pin-value=1234")
    assert (uri.slot_id, uri.token, uri.object, uri.pin_value) == (0, None, "edge ca", "1234")
    assert "1234" not in repr(uri)
    assert parse_pkcs11_uri("pkcs11:token=my%20token").token == "my token"
    assert is_pkcs11("pkcs11:token=a") and not is_pkcs11("file:///a")


@pytest.mark.parametrize(("uri", "message"), [
    ("pkcs11:object=edge?pin-value=9876", "neither slot-id nor token"),
    ("pkcs11:slot-id=zero;object=x?pin-value=9876", "malformed"),
    ("file:///x?pin-value=9876", "not a pkcs11"),
    ("pkcs11:slot-id?pin-value=9876", "malformed"),
    ("pkcs11:slot-id=-1?pin-value=9876", "malformed"),
    ("pkcs11:slot-id=1_0?pin-value=9876", "malformed"),
    ("pkcs11:slot-id=%201?pin-value=9876", "malformed"),
    ("pkcs11:slot-id=\u0661?pin-value=9876", "malformed"),
    ("pkcs11:slot-id=18446744073709551616?pin-value=9876", "malformed"),
    ("pkcs11:token=%FF?pin-value=9876", "not UTF-8"),
])
def test_bad_pkcs11_uris_never_show_the_pin(uri: str, message: str) -> None:
    with pytest.raises(UriError, match=message) as info:
        parse_pkcs11_uri(uri)
    assert "9876" not in info.value.describe()


def test_pkcs11_uri_where_a_file_uri_belongs_hides_the_pin() -> None:
    with pytest.raises(UriError, match="not a file://") as info:
        check_file_uri("pkcs11:slot-id=0?pin-value=24681357", key="edge_ca.cert")
    assert "24681357" not in info.value.describe()


@pytest.mark.parametrize(("uri", "path", "canonical"), [
    # Accepted by the runtime's URL parser (the url crate), read as these device paths.
    ("file:///var/aziot/edge ca.pem", "/var/aziot/edge ca.pem", "file:///var/aziot/edge%20ca.pem"),
    ("file:///var/aziot/%zz.pem", "/var/aziot/%zz.pem", None),
    ("file:certs/x.pem", "/certs/x.pem", "file:///certs/x.pem"),
    ("file://localhost/var/x.pem", "/var/x.pem", "file:///var/x.pem"),
    ("file:///var/a/../x.pem", "/var/x.pem", "file:///var/x.pem"),
    ("file:///C:/edge ca.pem", "C:\\edge ca.pem", "file:///C:/edge%20ca.pem"),
])
def test_file_uris_read_as_the_runtime_does(uri: str, path: str, canonical: str | None) -> None:
    check_file_uri(uri)
    assert file_uri_path(uri) == path
    advice = file_uri_advice(uri)
    if canonical is None:
        assert advice is None
    else:
        assert advice is not None and canonical in advice


def test_pkcs11_as_upstream_parses_it() -> None:
    assert parse_pkcs11_uri("pkcs11:slot-id=+7").slot_id == 7
    assert parse_pkcs11_uri("pkcs11:slot-id=18446744073709551615").slot_id == 2**64 - 1
    assert parse_pkcs11_uri("pkcs11:tok%65n=a%20b").token == "a b"  # encoded attribute name
    assert parse_pkcs11_uri("pkcs11:foo=%FF;token=t").token == "t"  # unknown: not decoded
    assert parse_pkcs11_uri("pkcs11:token=a;token=b").token == "b"  # the last one wins


@pytest.mark.parametrize(("value", "ok"), [
    ("https://est.example.org/.well-known/est", True), ("unix:///var/run/docker.sock", True),
    ("https://[::1]:8443/est", True), ("not a url", False), ("est.example.org", False),
    ("https://", False), ("https://a b/", False), ("https://est:99999/", False),
])
def test_urls_as_the_runtime_parses_them(value: str, ok: bool) -> None:
    assert (url_problem(value) is None) is ok


@pytest.mark.parametrize("uri", [
    "pkcs11:slot-id=0;object=edge%20ca?pin-value=1234",
    "pkcs11:token=edge?module-name=x&pin-value=1234&other=y",
    "pkcs11:token=edge?pin%2Dvalue=1234",
    "pkcs11:pin-value=1234;token=edge",
])
def test_the_pin_rule_is_the_parsers(uri: str) -> None:
    """What may be shown and stored is the URI the parser reads, without any PIN."""
    from core.config.uris import without_pin

    kept = without_pin(uri)
    assert "1234" not in kept
    full, bare = parse_pkcs11_uri(uri), parse_pkcs11_uri(kept)
    assert bare.pin_value is None
    assert (bare.slot_id, bare.token, bare.object) == (full.slot_id, full.token, full.object)
