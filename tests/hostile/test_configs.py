"""Configs as technicians and hostile devices write them: dotted keys, inline and split tables,
a Notepad BOM, CRLF, alias bombs, and files far larger than any real one."""

from __future__ import annotations

import re
import resource
import subprocess
import tomllib
from pathlib import Path

import pytest
from hostile_support import EDGECERT, TIMEOUT, Result, assert_calm, run
from rtcfg import assert_runtime_accepts

from core.config.diff import config_diff, opcodes
from core.config.settings import CertSettings, Preloaded
from core.config.toml_edit import edit_config_toml
from core.config.yaml_edit import LegacyCertificates, edit_config_yaml
from core.errors import ConfigParseError
from core.versions import release

PROVISIONING = ('[provisioning]\nsource = "manual"\n'
                'connection_string = "HostName=h.example;DeviceId=gw;SharedAccessKey=c2VjcmV0"\n')
FILES = ["--edge-ca-cert", "/new/c.pem", "--edge-ca-key", "/new/k.pem", "--trust-bundle",
         "/new/b.pem"]
QUICKSTART = ["--quickstart-days", "30", "--renew-threshold", "80%", "--renew-retry", "4%",
              "--rotate-key", "yes", "--trust-bundle", "/new/b.pem"]
WANT_FILES = {"cert": "file:///new/c.pem", "pk": "file:///new/k.pem"}
WANT_QUICKSTART = {"auto_generated_edge_ca_expiry_days": 30,
                   "auto_renew": {"rotate_key": True, "threshold": "80%", "retry": "4%"}}

LAYOUTS = {
    "dotted": ('hostname = "gw"\nedge_ca.cert = "file:///old/c.pem"\n'
               'edge_ca.pk = "file:///old/k.pem"\n\n' + PROVISIONING),
    "inline": ('hostname = "gw"\nedge_ca = { cert = "file:///old/c.pem", '
               'pk = "file:///old/k.pem" }\n\n' + PROVISIONING),
    "split": ('[edge_ca]\ncert = "file:///old/c.pem"\npk = "file:///old/k.pem"\n\n'
              + PROVISIONING + '\n[edge_ca.auto_renew]\nrotate_key = true\n'
              'threshold = "70%"\nretry = "2%"\n'),
}


def _diff(tmp_path: Path, text: bytes, *extra: str, version: str = "1.5",
          name: str = "config.toml") -> tuple[Result, bytes]:
    current = tmp_path / name
    current.write_bytes(text)
    new = tmp_path / f"new-{name}"
    new.unlink(missing_ok=True)
    result = run("config", "diff", "--iotedge", version, "--current", current, *extra,
                 "--output", new)
    if result.code == 0 and name.endswith(".toml"):
        # written by the command in its own process: the session-wide oracle does not see it
        assert_runtime_accepts(new.read_bytes(), "config written by `config diff --output`")
    return result, new.read_bytes() if new.exists() else b""


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize(("options", "want"), [(FILES, WANT_FILES),
                                               (QUICKSTART, WANT_QUICKSTART)],
                         ids=["files", "quickstart"])
def test_dotted_inline_and_split_tables_are_edited(layout: str, options: list[str],
                                                   want: dict[str, object],
                                                   tmp_path: Path) -> None:
    result, new = _diff(tmp_path, LAYOUTS[layout].encode(), *options)
    assert result.code == 0, result.err
    data = tomllib.loads(new.decode())
    assert data["edge_ca"] == want
    assert data["trust_bundle_cert"] == "file:///new/b.pem"
    assert data["provisioning"]["source"] == "manual"
    assert "c2VjcmV0" not in result.out  # the SAS key stays redacted in the diff
    if layout == "dotted" and options is FILES:  # edited in place, in the file's own style
        assert 'edge_ca.cert = "file:///new/c.pem"\n' in new.decode()


@pytest.mark.parametrize("nl", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_notepad_bom_is_kept(nl: str, tmp_path: Path) -> None:
    text = ("\ufeff" + 'hostname = "gw"\n' + PROVISIONING).replace("\n", nl)
    result, new = _diff(tmp_path, text.encode("utf-8"), *FILES)
    assert result.code == 0, result.err
    assert new.startswith(b"\xef\xbb\xbfhostname")
    assert new.count(b"\xef\xbb\xbf") == 1
    assert tomllib.loads(new.decode("utf-8-sig"))["edge_ca"] == WANT_FILES


CRLF_STARTS = {
    "table first": PROVISIONING,
    "no final newline": 'hostname = "gw"\n' + PROVISIONING.rstrip("\n"),
    "template": (Path(__file__).resolve().parents[1] / "fixtures" / "config" /
                 "template-1.5.toml").read_text().replace("\r\n", "\n") + PROVISIONING,
}


@pytest.mark.parametrize("start", sorted(CRLF_STARTS))
@pytest.mark.parametrize("options", [FILES, QUICKSTART], ids=["files", "quickstart"])
def test_every_line_added_to_a_crlf_file_ends_in_crlf(start: str, options: list[str],
                                                      tmp_path: Path) -> None:
    text = CRLF_STARTS[start].replace("\n", "\r\n").encode()
    result, new = _diff(tmp_path, text, *options)
    assert result.code == 0, result.err
    assert b"trust_bundle_cert" in new
    bare = [new[max(0, m.start() - 30):m.start()] for m in re.finditer(rb"(?<!\r)\n", new)]
    assert bare == []


def _bomb(levels: int, width: int) -> str:
    lines = ['provisioning:\n  source: "manual"\n'
             '  device_connection_string: "HostName=h;DeviceId=d;SharedAccessKey=c2VjcmV0"\n',
             'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]\n"
              for i in range(1, levels + 1)]
    return "".join(lines)


def _limit_memory() -> None:
    limit = 2 * 1024**3  # address space: far more than edgecert needs, far less than a bomb
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_yaml_alias_bomb_from_a_device_is_refused_quickly(tmp_path: Path) -> None:
    bomb = tmp_path / "config.yaml"
    bomb.write_text(_bomb(9, 9))  # a billion "lol"s if expanded
    proc = subprocess.run([str(EDGECERT), "config", "diff", "--iotedge", "1.1", "--current",
                           str(bomb), *FILES], capture_output=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, preexec_fn=_limit_memory, check=False)
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    assert_calm(result)
    assert result.code == 2, result.err
    assert f"{bomb}:" in result.err and "more than 20 YAML anchors/aliases" in result.err
    for text in (_bomb(9, 9), _bomb(5, 3)):  # the editor itself, as deploy calls it
        with pytest.raises(ConfigParseError, match="anchors/aliases"):
            edit_config_yaml(text, LegacyCertificates("file:///c", "file:///k", "file:///b"))


def test_a_config_over_the_cap_is_refused_before_parsing() -> None:
    huge = "# x\n" * (300 * 1024)  # 1.2 MiB of comments, as read from a device
    settings = CertSettings(edge_ca=Preloaded("file:///c", "file:///k"))
    with pytest.raises(ConfigParseError, match="larger than 1 MiB"):
        edit_config_toml(huge, settings, release("1.5"), where="gw:/etc/aziot/config.toml")
    with pytest.raises(ConfigParseError, match="larger than 1 MiB"):
        edit_config_yaml(huge, LegacyCertificates("file:///c", "file:///k", "file:///b"))


def test_a_big_config_under_the_cap_is_edited_and_diffed(tmp_path: Path) -> None:
    body = ('\n[agent]\nname = "edgeAgent"\ntype = "docker"\n\n[agent.config]\n'
            'image = "mcr.microsoft.com/azureiotedge-agent:1.6"\n\n[agent.env]\n'
            + "".join(f'# variable {i}\nEXTRA_{i} = "v{i}"\n' for i in range(10000)))
    text = 'hostname = "gw"\n' + PROVISIONING + body
    assert 200_000 < len(text) < 1024 * 1024
    result, new = _diff(tmp_path, text.encode(), *FILES)
    assert result.code == 0, result.err
    hunks = [line for line in result.out.splitlines() if line.startswith("@@")]
    assert len(hunks) == 2  # trust_bundle_cert near the top, [edge_ca] at the end
    added = [line for line in result.out.splitlines() if line.startswith("+") and
             not line.startswith("+++") and line != "+"]
    assert added == ['+trust_bundle_cert = "file:///new/b.pem"', "+[edge_ca]",
                     '+cert = "file:///new/c.pem"', '+pk = "file:///new/k.pem"']
    assert not [line for line in result.out.splitlines() if line.startswith("-")
                and not line.startswith("---")]
    assert tomllib.loads(new.decode())["agent"]["env"]["EXTRA_9999"] == "v9999"


def test_the_diff_is_a_correct_edit_even_past_its_search_bound() -> None:
    old = [f"line {i}" for i in range(3000)]
    new = [f"line {i}" if i % 2 else f"changed {i}" for i in range(3000)]
    for bound in (10, 10_000):
        rebuilt: list[str] = []
        for tag, i1, i2, j1, j2 in opcodes(old, new, max_edits=bound):
            assert tag != "equal" or old[i1:i2] == new[j1:j2]
            rebuilt += new[j1:j2]
        assert rebuilt == new
    text = config_diff("a = 1\nb = 2\n", "a = 1\nb = 3\n", device_path="/etc/aziot/config.toml")
    assert text.splitlines()[2:] == ["@@ -1,2 +1,2 @@", " a = 1", "-b = 2", "+b = 3"]
