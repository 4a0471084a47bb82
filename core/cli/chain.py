"""``edgecert chain ...``: generate, issue, request, import, check, inspect and export a chain.

Exit codes: 0 usable (warnings allowed), 1 errors found, 2 unreadable input or usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.chain.demo import DEFAULT_EDGE_DAYS, MIN_CA_DAYS, generate_demo_chain
from core.chain.inspect import format_summary, inspect_certificate
from core.chain.issue import import_signed, issue_edge_ca, make_csr
from core.chain.keys import KeyType
from core.chain.load import load_file, read_password_file
from core.chain.order import order_chain
from core.chain.output import ChainFiles
from core.chain.pkcs12 import export_pfx
from core.chain.validate import ChainReport, Finding, check_files
from core.cli import work_complete
from core.errors import (
    PasswordRequiredError,
    WrongPasswordError,
    shown,
)
from core.versions import DEFAULT_RELEASE, EdgeRelease, catalog, release

_KEY_TYPES = [k.value for k in KeyType]
_VERSIONS = ", ".join(catalog())
_VERSION_HELP = f"IoT Edge release on the device ({_VERSIONS}; default {DEFAULT_RELEASE})"


def register(subparsers: Any) -> None:
    """Add the ``chain`` command group to the ``edgecert`` parser."""
    chain = subparsers.add_parser("chain", help="make, import, check and inspect certificates")
    sub = chain.add_subparsers(dest="chain_command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser(
        "demo", help="root -> intermediate -> edge CA, like Microsoft's certGen.sh (test only)",
        description=(
            "Make a demo chain with certGen.sh's file names. Validity: the edge CA "
            f"{DEFAULT_EDGE_DAYS} days (180 on 1.1, twice its 90-day warning window), root "
            f"and intermediate max({MIN_CA_DAYS}, DAYS + 30) days; on 1.1 every certificate "
            "ends before 2038-01-01. Private keys are PKCS#8, mode 0600; with --password-file "
            "the root and intermediate keys and the PFX files are encrypted."),
    )
    _out_name(demo)
    demo.add_argument("--key-type", choices=_KEY_TYPES, default=KeyType.RSA_4096.value,
                      help="key type of all three CAs (default rsa-4096, like certGen.sh)")
    _days_version(demo)
    demo.add_argument("--password-file", type=Path,
                      help="file whose first line encrypts the CA keys and PFX files")
    demo.set_defaults(func=_cmd_demo)

    issue = sub.add_parser(
        "issue-edge-ca", help="sign a new edge CA with your own root or intermediate CA",
        description="Sign a new edge CA with your CA; writes the edge CA files, its full chain "
                    "and certs/trust-bundle.cert.pem (your root).")
    issue.add_argument("--ca-cert", type=Path, required=True, help="your CA certificate")
    issue.add_argument("--ca-key", type=Path, required=True,
                       help="your CA private key (PEM/DER, encrypted or not)")
    issue.add_argument("--ca-chain", type=Path,
                       help="the chain above your CA, up to the root (if the CA is not the root)")
    issue.add_argument("--ca-password-file", type=Path,
                       help="file whose first line decrypts the CA key")
    _out_name(issue)
    issue.add_argument("--key-type", choices=_KEY_TYPES, default=KeyType.RSA_2048.value,
                       help="edge CA key type (default rsa-2048, like the quickstart edge CA)")
    _days_version(issue)
    issue.set_defaults(func=_cmd_issue)

    csr = sub.add_parser("csr", help="a new edge CA key and a CSR for an external CA",
                         description="Write private/iot-edge-device-ca-NAME.key.pem (0600) and "
                                     "csr/iot-edge-device-ca-NAME.csr.pem.")
    _out_name(csr)
    csr.add_argument("--key-type", choices=_KEY_TYPES, default=KeyType.RSA_2048.value,
                     help="key type (default rsa-2048)")
    csr.add_argument("--iotedge", default=DEFAULT_RELEASE, metavar="VERSION",
                     help=_VERSION_HELP)
    csr.set_defaults(func=_cmd_csr)

    imp = sub.add_parser("import-signed", help="assemble the edge CA files from a signed CSR",
                         description="Check the signed certificate against its key and chain, "
                                     "then write the edge CA files and trust bundle.")
    imp.add_argument("--cert", type=Path, required=True, help="the certificate the CA signed")
    imp.add_argument("--key", type=Path, required=True, help="the key `chain csr` wrote")
    imp.add_argument("--chain", type=Path, required=True,
                     help="the issuing CA's chain up to the root")
    imp.add_argument("--key-password-file", type=Path, help="file with the key's password")
    _out_name(imp)
    imp.add_argument("--iotedge", default=DEFAULT_RELEASE, metavar="VERSION",
                     help=_VERSION_HELP)
    imp.set_defaults(func=_cmd_import)

    check = sub.add_parser(
        "check", help="validate an edge CA, its key and the trust bundle before deploying",
        description="Read PEM (any order), DER, PFX and PKCS#1/PKCS#8/SEC1 files, order the "
                    "chain and report findings. Exit 0: usable (warnings allowed); 1: errors; "
                    "2: unreadable input.")
    check.add_argument("--cert", type=Path, required=True,
                       help="edge CA certificate file (full chain), PEM/DER/PFX")
    check.add_argument("--key", type=Path, required=True, help="edge CA private key (or PFX)")
    check.add_argument("--trust-bundle", type=Path, required=True, help="root CA bundle")
    check.add_argument("--iotedge", default=DEFAULT_RELEASE, metavar="VERSION",
                       help=_VERSION_HELP)
    check.add_argument("--hostname", help="the device hostname (the edge CA CN must differ)")
    check.add_argument("--password-file", type=Path,
                       help="file whose first line opens encrypted keys/PFX files")
    check.add_argument("--json", action="store_true", help="print a JSON report")
    check.set_defaults(func=_cmd_check)

    insp = sub.add_parser("inspect", help="show the certificates in files",
                          description="Per certificate: subject, issuer, serial, validity, days "
                                      "left and share of lifetime used, key, SHA-256 "
                                      "fingerprint, CA/pathlen, key usage, SAN.")
    insp.add_argument("files", type=Path, nargs="+", metavar="FILE")
    insp.add_argument("--password-file", type=Path, help="password for PFX files")
    insp.add_argument("--json", action="store_true", help="print JSON")
    insp.set_defaults(func=_cmd_inspect)

    pfx = sub.add_parser("export-pfx", help="write a PKCS#12/PFX from PEM certificate and key",
                         description="Write a PFX (AES-256, SHA-256 MAC; --legacy: 3DES with a "
                                     "SHA-1 MAC for old Windows importers). Mode 0600.")
    pfx.add_argument("--cert", type=Path, required=True)
    pfx.add_argument("--key", type=Path, required=True)
    pfx.add_argument("--chain", type=Path, help="issuer certificates to include")
    pfx.add_argument("--out", type=Path, required=True, help="the PFX file to write")
    pfx.add_argument("--password-file", type=Path, help="file whose first line protects the PFX")
    pfx.add_argument("--key-password-file", type=Path, help="password of an encrypted key")
    pfx.add_argument("--legacy", action="store_true",
                     help="PBES1 3DES + SHA-1 MAC, for Windows Server 2016 and older importers")
    pfx.add_argument("--force", action="store_true", help="replace an existing file")
    pfx.set_defaults(func=_cmd_export_pfx)


def _out_name(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output folder (created; must not exist or be empty)")
    p.add_argument("--name", required=True,
                   help="device name: files are iot-edge-device-ca-NAME.*, the CN NAME.ca")
    p.add_argument("--force", action="store_true",
                   help="replace a non-empty output folder (after the new files are complete)")


def _days_version(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, help="edge CA lifetime in days (default 90; 180 on 1.1)")
    p.add_argument("--iotedge", default=DEFAULT_RELEASE, metavar="VERSION",
                   help=_VERSION_HELP)




@contextlib.contextmanager
def password_option(option: str) -> Iterator[None]:
    """Point the hint of a password error at ``option``, the flag of the verb at hand."""
    try:
        yield
    except PasswordRequiredError as exc:
        exc.hint = f"Put the password on the first line of a file and pass {option} FILE."
        raise
    except WrongPasswordError as exc:
        exc.hint = (f"Check the first line of the {option} file (passwords are "
                    "case-sensitive)." + ("" if exc.hint == WrongPasswordError.default_hint
                                          else " " + exc.hint))
        raise




def _release(args: argparse.Namespace) -> EdgeRelease:
    rel = release(args.iotedge)
    if rel.notice:
        sys.stderr.write(f"note: {rel.notice}\n")
    return rel


def _print_findings(findings: tuple[Finding, ...], out: Any = None) -> None:
    out = out or sys.stdout
    for f in findings:
        subject = f" [{f.subject}]" if f.subject else ""
        out.write(shown(f"{f.severity:<7} {f.code}{subject}: {f.message}") + "\n")
        if f.hint:
            out.write(shown(f"        hint: {f.hint}") + "\n")


def _report_written(files: ChainFiles, rel: EdgeRelease) -> int:
    work_complete()
    report = check_files(load_file(files.edge_ca_full_chain), load_file(files.edge_ca_key),
                         load_file(files.trust_bundle), release=rel)
    for notice in files.notices:
        sys.stderr.write(f"note: {notice}\n")
    print(f"wrote {shown(files.out_dir)}")
    for p in sorted(files.all_paths()):
        print(f"  {shown(p.relative_to(files.out_dir))}")
    print(f"{rel.ca_term_title} for IoT Edge {rel.key}: "
          f"certs/{shown(files.edge_ca_full_chain.name)} (full chain), "
          f"private/{shown(files.edge_ca_key.name)}; trust bundle: "
          f"certs/{shown(files.trust_bundle.name)}")
    _print_findings(report.findings)
    return 0 if report.ok else 1


def _cmd_demo(args: argparse.Namespace) -> int:
    rel = _release(args)
    files = generate_demo_chain(
        args.out, args.name, release=rel, key_type=KeyType.parse(args.key_type), days=args.days,
        password=read_password_file(args.password_file), force=args.force)
    return _report_written(files, rel)


def _cmd_issue(args: argparse.Namespace) -> int:
    rel = _release(args)
    with password_option("--ca-password-file"):
        files = issue_edge_ca(
            ca_cert=args.ca_cert, ca_key=args.ca_key, ca_chain=args.ca_chain,
            ca_password=read_password_file(args.ca_password_file), out_dir=args.out,
            name=args.name, release=rel, key_type=KeyType.parse(args.key_type),
            days=args.days, force=args.force)
    return _report_written(files, rel)


def _cmd_csr(args: argparse.Namespace) -> int:
    rel = _release(args)
    csr, key = make_csr(out_dir=args.out, name=args.name, release=rel,
                        key_type=KeyType.parse(args.key_type), force=args.force)
    work_complete()
    print(f"wrote {shown(csr)}\nwrote {shown(key)} (keep it private; mode 0600)")
    print("Have your CA sign the CSR as a sub-CA (CA:TRUE, keyCertSign), then run "
          "`edgecert chain import-signed`.")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    rel = _release(args)
    with password_option("--key-password-file"):
        files = import_signed(cert=args.cert, key=args.key, chain=args.chain,
                              out_dir=args.out, name=args.name, release=rel,
                              key_password=read_password_file(args.key_password_file),
                              force=args.force)
    return _report_written(files, rel)


def check_report(args: argparse.Namespace) -> ChainReport:
    """Load the three files of ``chain check`` and validate them."""
    rel = _release(args)
    pw = read_password_file(args.password_file)
    with password_option("--password-file"):
        return check_files(load_file(args.cert, pw, "the edge CA file"),
                           load_file(args.key, pw, "the key file"),
                           load_file(args.trust_bundle, pw, "the trust bundle"),
                           release=rel, hostname=args.hostname)


def _quiet_long_names() -> None:
    # cryptography warns about CNs over 64 characters while parsing; `check` reports that as
    # the cn-too-long finding, so the raw library warning is noise on the technician's screen.
    warnings.filterwarnings("ignore", message="Attribute's length must be", category=UserWarning)


def _cmd_check(args: argparse.Namespace) -> int:
    _quiet_long_names()
    report = check_report(args)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for i, cert in enumerate(report.chain):
            s = inspect_certificate(cert)
            print(shown(f"{i}: {s.common_name or s.subject}  (until {s.not_after:%Y-%m-%d}, "
                        f"{s.key})"))
        _print_findings(report.findings)
        errors = sum(f.severity == "error" for f in report.findings)
        warnings = sum(f.severity == "warning" for f in report.findings)
        print(("usable" if report.ok else "NOT usable") +
              f": {errors} error(s), {warnings} warning(s)")
    return 0 if report.ok else 1


def _cmd_inspect(args: argparse.Namespace) -> int:
    _quiet_long_names()
    pw = read_password_file(args.password_file)
    entries: list[dict[str, Any]] = []
    for path in args.files:
        with password_option("--password-file"):
            material = load_file(path, pw)
        ordered = order_chain(material.certs)
        if not args.json:
            print(f"== {shown(path)}")
            if not material.certs:
                print(f"(no certificate; {len(material.keys)} private key(s))")
        for cert in ordered + [c for c in material.certs if c not in ordered]:
            summary = inspect_certificate(cert)
            if args.json:
                entries.append({"file": str(path), **summary.to_dict()})
            else:
                print(shown(format_summary(summary), keep_newlines=True) + "\n")
    if args.json:
        print(json.dumps(entries, indent=2))
    return 0


def _cmd_export_pfx(args: argparse.Namespace) -> int:
    with password_option("--key-password-file"):
        out, count = export_pfx(cert=args.cert, key=args.key, out=args.out, chain=args.chain,
                                password=read_password_file(args.password_file),
                                key_password=read_password_file(args.key_password_file),
                                legacy=args.legacy, force=args.force)
    work_complete()
    print(f"wrote {shown(out)} ({count} certificate(s), "
          f"{'legacy 3DES/SHA-1' if args.legacy else 'AES-256/SHA-256'})")
    return 0
