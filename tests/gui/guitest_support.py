"""Helpers shared by the GUI tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DialogLog:
    """What the modal dialogs were asked, and the scripted answers they gave."""

    errors: list[BaseException] = field(default_factory=list)
    host_keys: list[tuple[str, str, str]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    passwords: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    trust_host_key: bool = True
    answer_yes: bool = True
    password_answers: list[str | None] = field(default_factory=list)


def sign_csr_with_openssl(csr: Path, folder: Path) -> Path:
    """An external CA made with the openssl CLI signs ``csr`` as a sub-CA (pathlen 0); returns
    the signed certificate followed by that CA's root, as an external CA hands it back."""
    ca = folder / "extca"
    ca.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(ca / "root.key"),
                    "-out", str(ca / "root.pem"), "-days", "400", "-subj", "/CN=External Root",
                    "-addext", "basicConstraints=critical,CA:true",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    (ca / "ext.cnf").write_text(
        "[v3]\nbasicConstraints=critical,CA:true,pathlen:0\n"
        "keyUsage=critical,digitalSignature,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca / "root.pem"),
                    "-CAkey", str(ca / "root.key"), "-CAcreateserial", "-days", "200",
                    "-extfile", str(ca / "ext.cnf"), "-extensions", "v3",
                    "-out", str(ca / "signed.pem")], check=True, capture_output=True)
    signed = folder / "signed-chain.pem"
    signed.write_bytes((ca / "signed.pem").read_bytes() + (ca / "root.pem").read_bytes())
    return signed
