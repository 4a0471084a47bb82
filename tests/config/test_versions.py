"""IoT Edge 1.6 is the current LTS and the default; 1.5 says that its support ended."""

from __future__ import annotations

import pytest

from core.versions import DEFAULT_RELEASE, catalog, parse_iotedge_version, release


def test_16_is_known_and_the_default() -> None:
    assert DEFAULT_RELEASE == "1.6" and list(catalog())[-1] == "1.6"
    r16 = release(parse_iotedge_version("iotedge 1.6.0 (5d1e2b3a4c)\n"))
    assert r16.key == "1.6" and r16.notice == "" and r16.support_ended is None
    assert r16.config_path == "/etc/aziot/config.toml" and r16.auto_renew
    assert r16.removed_keys == ("manifest_trust_bundle_cert",)
    assert r16.agent_image == "mcr.microsoft.com/azureiotedge-agent:1.6"


def test_15_support_ended_with_the_date() -> None:
    r15 = release("1.5.21")
    assert r15.support_ended == "November 2026" and r15.notice == ""
    assert r15.support_text == "support ended November 2026"
    assert release("1.6").support_text == ""


@pytest.mark.parametrize("argv", [
    ["chain", "demo", "--help"], ["chain", "check", "--help"], ["chain", "csr", "--help"]])
def test_cli_defaults_name_16(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import main
    with pytest.raises(SystemExit):
        main(argv)
    out = capsys.readouterr().out
    assert "default 1.6" in " ".join(out.split()) and "default 1.5" not in out
