"""Pure parts of the deploy: parsing device output, rendering steps, reading configs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from deploytest_support import make_sandbox, sandbox_plan

from core.deploy import parse_check_output, parse_version, render_steps
from core.deploy.run import parse_stage_output
from core.deploy.shlib import LIBRARY
from core.deploy.state import parse_state_output
from core.deploy.status import configured_certs
from core.errors import UsageError

CHECK = {
    "additional_info": {"now": "2026-01-01T00:00:00Z"},
    "checks": {
        "certs-preloaded": {"result": "ok", "additional_info": None},
        "key-pairs-read": {"result": "warning", "details": ["RSA 1024 bits"],
                           "additional_info": None},
        "certs-match-private-keys": {"result": "error", "details": ["mismatch"],
                                     "additional_info": None},
    },
}
IDS = ("certs-preloaded", "key-pairs-read", "certs-match-private-keys", "hostname")


def test_check_json_object() -> None:
    res = parse_check_output(json.dumps(CHECK, indent=2), IDS)
    assert [(r.id, r.result) for r in res] == [
        ("certs-preloaded", "ok"), ("key-pairs-read", "warning"),
        ("certs-match-private-keys", "error"), ("hostname", "missing")]
    assert res[2].failed and not res[1].failed and not res[3].failed
    assert res[1].describe() == "key-pairs-read: warning (RSA 1024 bits)"


def test_check_json_stream() -> None:
    lines = [json.dumps({"kind": "section", "name": "Configuration checks"}),
             json.dumps({"kind": "check", "id": "certs-preloaded", "description": "x",
                         "result": "fatal", "details": ["cannot read"]})]
    res = parse_check_output("\n".join(lines), ["certs-preloaded"])
    assert res[0].result == "fatal" and res[0].failed


def test_check_text_output_is_all_missing() -> None:
    res = parse_check_output("Configuration checks\n√ config.yaml is well-formed - OK\n", IDS)
    assert {r.result for r in res} == {"missing"}


@pytest.mark.parametrize("compact", [True, False])
def test_shell_check_reader_agrees_with_python(tmp_path: Path, compact: bool) -> None:
    text = json.dumps(CHECK) if compact else json.dumps(CHECK, indent=4)
    (tmp_path / "out").write_text(text)
    got = []
    for cid in IDS:
        res = subprocess.run(["sh", "-c", LIBRARY + '\nec_check_result "$@"', "t", cid,
                              str(tmp_path / "out")], capture_output=True, text=True, check=True)
        got.append(res.stdout.strip())
    assert got == [r.result for r in parse_check_output(text, IDS)]


def test_version_parsing() -> None:
    assert parse_version("iotedge 1.5.21 (a1b2c3)") == "1.5.21"
    assert parse_version("iotedge 1.1.16") == "1.1.16"
    assert parse_version("sh: 1: iotedge: not found") is None


def test_state_and_stage_output_parsing() -> None:
    st = parse_state_output(
        "version\tiotedge 1.4.27 (x)\n"
        "stat\t/etc/aziot/config.toml\tfile 600 0 0 root root 120 " + "a" * 64 + "\n"
        "stat\t/var/aziot\tdir 755 0 0 root root\n"
        "stat\t/nope\tabsent\n"
        "backup\t/var/backups/edgecert/2\tdeployed\n"
        "backup\t/var/backups/edgecert/1\trolled-back\n")
    assert parse_version(st.version_line) == "1.4.27"
    cfg = st.files[0]
    assert (cfg.kind, cfg.mode, cfg.user, cfg.size, cfg.sha256) == ("file", 0o600, "root", 120,
                                                                      "a" * 64)
    assert st.files[1].kind == "dir" and st.files[2].kind == "absent"
    assert [b.path[-1] for b in st.backups] == ["1", "2"]
    out = parse_stage_output(
        "step\tbackup\nbackup\t/b/1\ninstalled\t/x\n"
        "unreadable\taziotcs\t995:995\t/var/aziot\tmode 750 owner 0:0\n"
        "fail\treadable\t-\tsome paths are not readable by the service users\n"
        "restore-failed\t/x\tcopy back from /b/1/4\n")
    assert out.backup_dir == "/b/1" and out.installed == ("/x",)
    assert out.failures[0] == "/var/aziot is not readable by user aziotcs (mode 750 owner 0:0)"
    assert out.problems == ("/x: copy back from /b/1/4",)


def test_render_steps_rejects_unsafe_paths_and_windows() -> None:
    it = make_sandbox()
    sb = next(it)
    try:
        plan = sandbox_plan(sb)
        text = render_steps(plan)
        assert text.startswith("edgecert-steps\t2\n")
        assert "KEY 1" not in text  # file bytes travel as files, never in the steps
        bad = type(plan)(**{**plan.__dict__, "files": (
            type(plan.files[0])(**{**plan.files[0].__dict__, "path": "/a\tb"}),)})
        with pytest.raises(UsageError):
            render_steps(bad)
        with pytest.raises(UsageError):
            render_steps(type(plan)(**{**plan.__dict__, "platform": "windows"}))
    finally:
        it.close()


def test_configured_certs_toml_and_yaml() -> None:
    toml = (b'trust_bundle_cert = "file:///var/aziot/certs/trust-bundle.pem"\n[edge_ca]\n'
            b'cert = "file:///var/aziot/certs/edge-ca.pem"\npk = "file:///k"\n')
    mode, pairs = configured_certs(toml, legacy=False)
    assert mode.startswith("own edge CA")
    assert pairs == [("edge CA", "file:///var/aziot/certs/edge-ca.pem"),
                     ("trust bundle", "file:///var/aziot/certs/trust-bundle.pem")]
    assert configured_certs(b'hostname = "x"\n', legacy=False)[0].startswith("quickstart")
    yaml = (b"certificates:\n  device_ca_cert: file:///c.pem\n  device_ca_pk: file:///k.pem\n"
            b"  trusted_ca_certs: file:///r.pem\n")
    mode, pairs = configured_certs(yaml, legacy=True)
    assert mode == "own device CA" and pairs[0] == ("device CA", "file:///c.pem")
    partial = b"certificates:\n  device_ca_cert: file:///c.pem\n"
    assert "partial" in configured_certs(partial, legacy=True)[0]
