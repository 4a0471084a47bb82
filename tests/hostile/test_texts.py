"""What reaches the terminal: control characters escaped, names checked by the rule the hint
states, and hints that name the option of the verb at hand and the certificate that is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from hostile_support import run

from core.chain import ChainFiles
from core.chain.demo import DEVICE_NAME_RULE, edge_ca_common_name
from core.config.diff import config_diff
from core.errors import UsageError, shown


def test_shown_escapes_every_control_character() -> None:
    raw = "a\x1b[2Jb\x07c\nd\x9be\u202ef\x00"
    assert shown(raw) == "a\\x1b[2Jb\\x07c\\x0ad\\x9be\\u202ef\\x00"
    assert shown("line 1\nline 2\x1b", keep_newlines=True) == "line 1\nline 2\\x1b"
    assert shown("plain/path-ä.pem") == "plain/path-ä.pem"
    assert shown("a\tb\x1b", keep_tabs=True) == "a\tb\\x1b"
    # A device's file is shown through the same helper in a diff.
    diff = config_diff("k = 1\n", "k = 1\n# new \x1b[2J\tline\n", device_path="/etc/x\x1b")
    assert "\x1b" not in diff
    assert "+# new \\x1b[2J\tline" in diff and "--- /etc/x\\x1b (device)" in diff


def test_a_device_name_with_an_escape_is_refused_and_shown_escaped(tmp_path: Path) -> None:
    out = tmp_path / "chain"
    result = run("chain", "demo", "--out", out, "--name", "gw\x1b[31mred", "--key-type",
                 "ec-p256")
    assert result.code == 2
    assert "'gw\\x1b[31mred' cannot be used as a device name" in result.err
    assert f"hint: {DEVICE_NAME_RULE}" in result.err
    assert not out.exists()


# The hint says: ASCII letters, digits, '-', '_' and '.' (not first).
ACCEPTED = ["gw", "GW-01", "edge_0042", "plant.line-7", "0", "a.b.c", "x" * 61]
REFUSED = ["", ".hidden", "gw 1", "gw/1", "gw\\1", "gw\n1", "gw\x1b", "gw\x00", "gwé", "gw:1",
           "gw*", "gw\u202e1"]


@pytest.mark.parametrize("name", ACCEPTED)
def test_names_the_hint_allows_are_accepted(name: str) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", name)
    assert edge_ca_common_name(name) == f"{name}.ca"


@pytest.mark.parametrize("name", REFUSED)
def test_names_the_hint_does_not_allow_are_refused(name: str) -> None:
    with pytest.raises(UsageError) as err:
        edge_ca_common_name(name)
    assert err.value.hint == DEVICE_NAME_RULE


def test_a_path_with_an_ansi_escape_is_echoed_escaped(tmp_path: Path,
                                                      chain: ChainFiles) -> None:
    missing = tmp_path / "evil\x1b[2J\x1b]0;owned\x07.pem"
    result = run("chain", "check", "--cert", missing, "--key", chain.edge_ca_key,
                 "--trust-bundle", chain.trust_bundle)
    assert result.code == 2
    assert "evil\\x1b[2J\\x1b]0;owned\\x07.pem: file not found" in result.err
    assert "\x07" not in result.err

    folder = tmp_path / "out\x1b[1m"
    result = run("chain", "csr", "--out", folder, "--name", "gw", "--key-type", "ec-p256")
    assert result.code == 0, result.err
    assert "out\\x1b[1m/csr/iot-edge-device-ca-gw.csr.pem" in result.out
    assert folder.is_dir()


def _encrypted_copy(key: Path, tmp_path: Path, password: bytes = b"s3cret") -> Path:
    pem = serialization.load_pem_private_key(key.read_bytes(), None)
    out = tmp_path / f"enc-{key.name}"
    out.write_bytes(pem.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(password)))
    return out


def test_password_hints_name_the_option_of_the_verb(chain: ChainFiles, tmp_path: Path) -> None:
    assert chain.root_cert is not None and chain.root_key is not None
    root_key = _encrypted_copy(chain.root_key, tmp_path)
    edge_key = _encrypted_copy(chain.edge_ca_key, tmp_path)
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not it\n")
    cases = [
        (["chain", "issue-edge-ca", "--ca-cert", chain.root_cert, "--ca-key", root_key,
          "--out", tmp_path / "o1", "--name", "gw"], "--ca-password-file"),
        (["chain", "import-signed", "--cert", chain.edge_ca_cert, "--key", edge_key,
          "--chain", chain.edge_ca_full_chain, "--out", tmp_path / "o2", "--name", "gw"],
         "--key-password-file"),
        (["chain", "export-pfx", "--cert", chain.edge_ca_cert, "--key", edge_key, "--out",
          tmp_path / "o3.pfx"], "--key-password-file"),
        (["chain", "check", "--cert", chain.edge_ca_full_chain, "--key", edge_key,
          "--trust-bundle", chain.trust_bundle], "--password-file"),
    ]
    for argv, option in cases:
        result = run(*argv)
        assert result.code == 2, result.err
        assert f"{edge_key if 'issue' not in argv[1] else root_key}: the private key is " \
               "encrypted" in result.err
        assert f"pass {option} FILE" in result.err
        result = run(*argv, option, wrong)
        assert result.code == 2, result.err
        assert f"Check the first line of the {option} file" in result.err
        assert "not it" not in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [root_key.name, edge_key.name, "wrong.txt"])


def test_a_missing_intermediate_is_named(chain: ChainFiles) -> None:
    result = run("chain", "check", "--cert", chain.edge_ca_cert, "--key", chain.edge_ca_key,
                 "--trust-bundle", chain.trust_bundle)
    assert result.code == 1
    assert ("CN=Azure_IoT_Hub_Intermediate_Cert_Test_Only, the issuer of gw.ca, is in neither "
            "file") in result.out
    assert "the root CA that issued" not in result.out


def test_a_public_key_given_as_the_key_is_called_a_public_key(chain: ChainFiles,
                                                              tmp_path: Path) -> None:
    private = serialization.load_pem_private_key(chain.edge_ca_key.read_bytes(), None)
    for encoding, name in ((serialization.Encoding.PEM, "pub.pem"),
                           (serialization.Encoding.DER, "pub.der")):
        pub = tmp_path / name
        pub.write_bytes(private.public_key().public_bytes(
            encoding, serialization.PublicFormat.SubjectPublicKeyInfo))
        result = run("chain", "check", "--cert", chain.edge_ca_full_chain, "--key", pub,
                     "--trust-bundle", chain.trust_bundle)
        assert result.code == 2
        assert f"{pub}: this is a public key, not a private key or certificate" in result.err


def test_days_beyond_the_issuer_say_they_were_shortened(chain: ChainFiles,
                                                        tmp_path: Path) -> None:
    assert chain.intermediate_cert is not None and chain.intermediate_key is not None
    result = run("chain", "issue-edge-ca", "--ca-cert", chain.intermediate_cert, "--ca-key",
                 chain.intermediate_key, "--ca-chain", chain.trust_bundle, "--out",
                 tmp_path / "o", "--name", "gw2", "--days", "5000")
    assert result.code == 0, result.err
    assert re.search(r"note: the edge CA was shortened to end with its issuer on "
                     r"\d{4}-\d\d-\d\d \(asked: 5000 days, got \d+ days\)", result.err)
    result = run("chain", "issue-edge-ca", "--ca-cert", chain.intermediate_cert, "--ca-key",
                 chain.intermediate_key, "--ca-chain", chain.trust_bundle, "--out",
                 tmp_path / "o2", "--name", "gw2", "--days", "30")
    assert result.code == 0 and "shortened" not in result.err


def test_the_wrong_config_format_for_the_version_is_named(tmp_path: Path) -> None:
    yaml_file = Path(__file__).resolve().parents[1] / "fixtures" / "config" / "legacy-1.1.yaml"
    toml_file = Path(__file__).resolve().parents[1] / "fixtures" / "config" / "manual-crlf.toml"
    common = ["--edge-ca-cert", "/d/c.pem", "--edge-ca-key", "/d/k.pem", "--trust-bundle",
              "/d/b.pem"]
    result = run("config", "diff", "--iotedge", "1.5", "--current", yaml_file, *common)
    assert result.code == 2
    assert "looks like IoT Edge 1.1's config.yaml" in result.err and "--iotedge 1.1" in \
        result.err
    result = run("config", "diff", "--iotedge", "1.1", "--current", toml_file, *common)
    assert result.code == 2
    assert "looks like a 1.2+ config.toml" in result.err and "--iotedge 1.5" in result.err
    result = run("config", "migrate", toml_file)
    assert result.code == 2
    assert "already a 1.2+ config.toml: there is nothing to migrate" in result.err


def test_a_certificate_name_with_an_escape_is_shown_escaped(tmp_path: Path) -> None:
    from certs import key_pem, make_cert
    from certs import pem as pem_of

    evil = make_cert("evil\x1b[2J\x1b]0;t\x07ca")
    pem = tmp_path / "evil.pem"
    pem.write_bytes(pem_of(evil.cert))
    key_file = tmp_path / "evil.key.pem"
    key_file.write_bytes(key_pem(evil.key))
    result = run("chain", "inspect", pem)  # run() fails on any raw escape in the output
    assert result.code == 0
    assert "CN=evil\\x1b[2J\\x1b]0" in result.out and "\x07" not in result.out
    result = run("chain", "check", "--cert", pem, "--key", key_file, "--trust-bundle", pem)
    assert "evil\\x1b[2J" in result.out and "\x07" not in result.out
