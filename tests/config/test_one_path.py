"""One path from a choice to the device: the CLI and the wizard's backend, given the same
choices and the same files, build the same plan, byte for byte.

The CLI side parses real argv with the ``edgecert`` parser and builds the plan the command
``export-bundle`` builds (then runs the command itself and compares its printed plan); the
wizard side goes through the backend's own requests, from the chain import to the preview.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core.chain.demo import generate_demo_chain
from core.chain.output import ChainFiles
from core.cli import build_parser, main
from core.cli.config import describe_plan
from core.cli.deploy import export_plan
from core.plan import Plan
from core.versions import release
from gui.backend.chain import ChainRequest, import_files
from gui.backend.plan import PlanRequest, make_preview
from gui.backend.settings import SettingsRequest
from gui.backend.target import read_config_copy

CONFIG = (b'hostname = "edge-device-01"\n\n[provisioning]\nsource = "manual"\n'
          b'connection_string = "HostName=h.azure-devices.net;DeviceId=d;'
          b'SharedAccessKey=c2VjcmV0"\n')
EST_PASSWORD = "Est-Pa55word-Secret"


@dataclass(frozen=True)
class Case:
    """One set of choices, as the CLI's flags and as the wizard's Device page."""

    release_key: str
    platform: str
    method: str
    folder: str = ""
    quickstart_days: int = 90
    renew: tuple[str, str] | None = None
    est_url: str = ""
    est_username: str = ""
    cli: tuple[str, ...] = field(default=())


CASES = {
    "own CA, standard folders": Case("1.5", "linux", "files"),
    "own CA, EFLOW": Case("1.4", "eflow", "files"),
    "own CA, a device folder": Case("1.5", "linux", "files", folder="/opt/edge-certs",
                                    cli=("--device-folder", "/opt/edge-certs")),
    "own CA, 1.1": Case("1.1", "linux", "files"),
    "quickstart with renewal": Case("1.5", "linux", "quickstart", quickstart_days=30,
                                    renew=("80%", "4%"),
                                    cli=("--quickstart-days", "30", "--renew-threshold", "80%",
                                         "--renew-retry", "4%", "--rotate-key", "yes")),
    "EST with renewal": Case("1.6", "linux", "est", renew=("90%", "5%"),
                             est_url="https://est.example.org/.well-known/est",
                             est_username="edge",
                             cli=("--edge-ca-method", "est", "--est-url",
                                  "https://est.example.org/.well-known/est",
                                  "--est-username", "edge", "--renew-threshold", "90%",
                                  "--renew-retry", "5%", "--rotate-key", "yes")),
}

LEGACY_CONFIG = b"""provisioning:
  source: "manual"
  device_connection_string: "HostName=h.azure-devices.net;DeviceId=d;SharedAccessKey=c2VjcmV0"

agent:
  name: "edgeAgent"
  type: "docker"
  env: {}
  config:
    image: "mcr.microsoft.com/azureiotedge-agent:1.1"

hostname: "edge-device-01"
"""


@pytest.fixture(scope="module")
def chains(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ChainFiles]:
    """A real chain per release (1.1 needs its own: no pathlen, dates before 2038)."""
    base = tmp_path_factory.mktemp("chains")
    return {key: generate_demo_chain(base / key, "edge-device-01", release=release(key))
            for key in ("1.1", "1.4", "1.5", "1.6")}


def _cli_plan(case: Case, chain: ChainFiles | None, current: Path, tmp_path: Path,
              capsys: pytest.CaptureFixture[str]) -> tuple[Plan, str]:
    argv = ["export-bundle", "--out", str(tmp_path / "bundle"), "--iotedge", case.release_key,
            "--platform", case.platform, "--current", str(current), "--yes", *case.cli]
    if chain is not None:
        argv += ["--edge-ca-cert", str(chain.edge_ca_full_chain),
                 "--edge-ca-key", str(chain.edge_ca_key),
                 "--trust-bundle", str(chain.trust_bundle)]
    if case.method == "est":
        secret = tmp_path / "est-password"
        secret.write_text(EST_PASSWORD + "\n")
        argv += ["--est-password-file", str(secret)]
    plan = export_plan(build_parser().parse_args(argv)).plan
    # The command itself prints that plan, and writes its bundle.
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "bundle" / "install.sh").is_file()
    return plan, out


def _gui_plan(case: Case, chain: ChainFiles | None, current: Path, tmp_path: Path) -> Plan:
    outcome = None
    if chain is not None:
        outcome = import_files(ChainRequest(
            mode="import", device_id="edge-device-01", key_type="ec-p256",
            release_key=case.release_key, out_dir=tmp_path / "unused",
            import_files=(str(chain.trust_bundle), str(chain.edge_ca_key),
                          str(chain.edge_ca_full_chain))))
    settings = SettingsRequest(
        release_key=case.release_key, method=case.method, cert_dir=case.folder,
        key_dir=case.folder, quickstart_days=case.quickstart_days,
        auto_renew=case.renew is not None, threshold=case.renew[0] if case.renew else "80%",
        retry=case.renew[1] if case.renew else "4%", est_url=case.est_url,
        est_username=case.est_username, pkcs11_uri="", pkcs11_lib_path="",
        est_password=EST_PASSWORD if case.method == "est" else "")
    preview = make_preview(PlanRequest(
        release_key=case.release_key, platform=case.platform, chain=outcome,
        settings=settings, device=read_config_copy(str(current), case.release_key),
        target_kind="bundle"))
    assert isinstance(preview.plan, Plan)
    return preview.plan


@pytest.mark.parametrize("name", CASES)
def test_cli_and_wizard_build_the_same_plan(name: str, chains: dict[str, ChainFiles],
                                            tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    case = CASES[name]
    current = tmp_path / "config"
    current.write_bytes(LEGACY_CONFIG if case.release_key == "1.1" else CONFIG)
    chain = chains[case.release_key] if case.method == "files" else None
    cli, printed = _cli_plan(case, chain, current, tmp_path, capsys)
    gui = _gui_plan(case, chain, current, tmp_path)
    cli_json = json.dumps(cli.to_dict(), indent=2, sort_keys=True)
    assert json.dumps(gui.to_dict(), indent=2, sort_keys=True) == cli_json
    # to_dict() gives the files by size and sha256; the bytes themselves are the same too.
    assert [(f.path, f.data) for f in gui.files] == [(f.path, f.data) for f in cli.files]
    assert gui.config.after == cli.config.after
    assert describe_plan(gui) in printed
    if chain is not None:
        assert {f.role for f in cli.files} == {"edge-ca-cert", "edge-ca-key", "trust-bundle"}
    if case.folder:
        assert all(f.path.startswith(case.folder + "/") for f in cli.files)
        assert cli.device_folders == (case.folder,)
    if case.method == "est":
        assert EST_PASSWORD.encode() in cli.config.after
        assert EST_PASSWORD not in printed
