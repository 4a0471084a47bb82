"""``edgecert config diff``, ``edgecert config migrate`` and ``edgecert plan``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from core.chain.load import MAX_FILE
from core.cli import work_complete
from core.cli.chain import PASSWORD_FILE_MAX
from core.config.diff import config_diff
from core.config.migrate import migrate_config_yaml
from core.config.planning import DevicePaths, build_plan, default_paths, plan_diff
from core.config.settings import (
    AutoRenew,
    CertSettings,
    EdgeCa,
    EstServer,
    Issued,
    Pkcs11,
    Preloaded,
    Quickstart,
)
from core.config.toml_edit import MAX_CONFIG_BYTES, edit_config_toml
from core.config.uris import file_uri, is_pkcs11
from core.config.validate import Finding, check_config_toml, errors_in
from core.config.yaml_edit import edit_config_yaml, legacy_from_settings, looks_like_toml
from core.errors import ConfigParseError, UnreadableFileError, UsageError, shown
from core.fs import read_input, write_atomic
from core.plan import Plan
from core.versions import PLATFORMS, EdgeRelease, Platform, release


def register(subparsers: Any) -> None:
    """Add ``config diff``, ``config migrate`` and ``plan`` to the ``edgecert`` parser."""
    config = subparsers.add_parser("config", help="edit, check and migrate the device config")
    sub = config.add_subparsers(dest="config_command", metavar="COMMAND")
    sub.required = True

    diff = sub.add_parser(
        "diff", help="show the change to config.toml/config.yaml (secrets redacted)",
        description="Print the unified diff between the device's config and the one edgecert "
                    "would write. Exit 0: no errors; 1: validation errors; 2: unreadable input.")
    _common(diff)
    diff.add_argument("--edge-ca-cert", metavar="DEVICE_PATH",
                      help="edge CA full-chain PEM on the device (path or file:// URI)")
    diff.add_argument("--edge-ca-key", metavar="DEVICE_PATH_OR_PKCS11",
                      help="edge CA key on the device: path, file:// URI or pkcs11: URI")
    diff.add_argument("--trust-bundle", metavar="DEVICE_PATH",
                      help="root CA bundle on the device (path or file:// URI)")
    diff.add_argument("--output", metavar="NEW_FILE", type=Path,
                      help="also write the new config here (0600), only if it has no errors")
    diff.set_defaults(func=_cmd_diff)

    migrate = sub.add_parser(
        "migrate", help="show what `iotedge config import` makes of a 1.1 config.yaml",
        description="Print the 1.2+ certificate settings `iotedge config import` would write "
                    "for this 1.1 config.yaml; warnings go to stderr.")
    migrate.add_argument("config_yaml", type=Path, metavar="CONFIG_YAML")
    migrate.set_defaults(func=_cmd_migrate)

    plan = subparsers.add_parser(
        "plan", help="print the whole deploy plan (nothing is touched)",
        description="Compute what a deploy would do: directories, files, config change, state "
                    "to clear, commands and checks.")
    _common(plan)
    plan.add_argument("--cert-file", type=Path, help="local edge CA full-chain PEM to install")
    plan.add_argument("--key-file", type=Path, help="local edge CA private key to install")
    plan.add_argument("--bundle-file", type=Path, help="local trust bundle (root CA) PEM")
    plan.add_argument("--edge-ca-cert", metavar="DEVICE_PATH",
                      help="device path of the edge CA cert (default: the standard location)")
    plan.add_argument("--edge-ca-key", metavar="DEVICE_PATH_OR_PKCS11",
                      help="device path of the key, or a pkcs11: URI (default: standard location)")
    plan.add_argument("--trust-bundle", metavar="DEVICE_PATH",
                      help="device path of the trust bundle (default: the standard location)")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(func=_cmd_plan)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--iotedge", required=True, metavar="VERSION",
                   help="IoT Edge version on the device, e.g. 1.6 (`iotedge version`)")
    p.add_argument("--platform", choices=PLATFORMS, default="linux",
                   help="linux, eflow, or windows (1.1 with Windows containers)")
    p.add_argument("--current", required=True, metavar="FILE",
                   help="the device's current config file; '-' when it has none yet")
    p.add_argument("--template", type=Path, metavar="FILE",
                   help="the device's config.toml.edge.template (used with --current -)")
    p.add_argument("--quickstart-days", type=int, metavar="N",
                   help="quickstart edge CA with this lifetime instead of your own CA files")
    p.add_argument("--edge-ca-method", choices=("est", "local_ca", "self_signed"),
                   help="an issued edge CA instead of files")
    p.add_argument("--common-name", help="CN of an issued edge CA")
    p.add_argument("--expiry-days", type=int, help="lifetime of an issued edge CA")
    p.add_argument("--est-url", help="EST server URL ([cert_issuance.est.urls] default)")
    p.add_argument("--est-username", help="EST user name")
    p.add_argument("--est-password-file", type=Path, help="file holding the EST password")
    p.add_argument("--est-trusted-cert", action="append", default=[], metavar="DEVICE_PATH",
                   help="EST server CA on the device (repeatable)")
    p.add_argument("--pkcs11-lib", metavar="PATH", help="[aziot_keys] pkcs11_lib_path")
    p.add_argument("--renew-threshold", metavar="T", help='e.g. "80%%", "10min", "4day"')
    p.add_argument("--renew-retry", metavar="R", help='e.g. "4%%", "10min", "1day"')
    p.add_argument("--rotate-key", choices=("yes", "no"), help="rotate the key when renewing")


# ---- inputs -------------------------------------------------------------------------------------


def _read(path: Path, what: str, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """A local input file, bounded (``core.fs.read_input``): configs and templates 1 MiB."""
    return read_input(path, limit, what)


def _current(args: argparse.Namespace) -> bytes | None:
    if args.current == "-":
        return None
    return _read(Path(args.current), "the current config")


def _uri(value: str | None) -> str | None:
    if value is None or value.startswith("file:") or is_pkcs11(value):
        return value
    return file_uri(value)


def _settings(args: argparse.Namespace, paths: DevicePaths | None, *,
              files_given: bool = True) -> CertSettings:
    edge_ca: EdgeCa
    est: EstServer | None = None
    password: str | None = None
    if args.est_password_file is not None:
        password = _text(_read(args.est_password_file, "the EST password file",
                               PASSWORD_FILE_MAX),
                         str(args.est_password_file)).strip()
    chosen = [name for name, on in (("--quickstart-days", args.quickstart_days is not None),
                                    ("--edge-ca-method", args.edge_ca_method is not None)) if on]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} exclude each other",
                         hint="Choose exactly one kind of edge CA.")
    cert = _uri(args.edge_ca_cert or (paths.edge_ca_cert if paths and files_given else None))
    key = _uri(args.edge_ca_key or (paths.edge_ca_key if paths and files_given else None))
    bundle = _uri(args.trust_bundle or (paths.trust_bundle if paths and (
        files_given or args.bundle_file) else None))
    if args.quickstart_days is not None or args.edge_ca_method:
        if args.edge_ca_cert or args.edge_ca_key:
            raise UsageError("--edge-ca-cert/--edge-ca-key go with your own CA files only",
                             hint="Drop them, or drop --quickstart-days / --edge-ca-method.")
        if args.quickstart_days is not None:
            edge_ca = Quickstart(args.quickstart_days)
        else:
            edge_ca = Issued(args.edge_ca_method, common_name=args.common_name,
                             expiry_days=args.expiry_days)
            if args.edge_ca_method == "est":
                if not args.est_url:
                    raise UsageError("an EST edge CA needs --est-url",
                                     hint="Give the EST server URL, e.g. "
                                          "https://est.example.org/.well-known/est.")
                est = EstServer(args.est_url,
                                tuple(_uri(p) or p for p in args.est_trusted_cert),
                                username=args.est_username, password=password)
    else:
        if not cert or not key:
            raise UsageError(
                "the edge CA needs --edge-ca-cert and --edge-ca-key (or --quickstart-days N, "
                "or --edge-ca-method)",
                hint="Give the device paths where the edge CA full chain and key will be.")
        edge_ca = Preloaded(cert, key)
    renew: AutoRenew | None = None
    if args.renew_threshold or args.renew_retry or args.rotate_key:
        if not (args.renew_threshold and args.renew_retry):
            raise UsageError("auto-renewal needs --renew-threshold and --renew-retry together",
                             hint='E.g. --renew-threshold 80% --renew-retry 4% --rotate-key yes.')
        rotate = args.rotate_key != "no"
        renew = AutoRenew(rotate, args.renew_threshold, args.renew_retry)
    pkcs11 = Pkcs11(args.pkcs11_lib) if args.pkcs11_lib else None
    return CertSettings(edge_ca=edge_ca, trust_bundle_cert=bundle, auto_renew=renew,
                        pkcs11=pkcs11, est=est)


def _report(findings: tuple[Finding, ...], where: str) -> None:
    for finding in findings:
        sys.stderr.write(finding.describe(where) + "\n")


def _cert_facts(data: bytes | None) -> tuple[dt.timedelta | None, str | None]:
    if data is None:
        return None, None
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise UnreadableFileError("the edge CA file is not a PEM certificate",
                                  hint="Give the edge CA full-chain PEM (edge CA first).") from exc
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(names[0].value) if names else None
    return cert.not_valid_after_utc - cert.not_valid_before_utc, cn


# ---- commands -----------------------------------------------------------------------------------


def _cmd_diff(args: argparse.Namespace) -> int:
    rel = release(args.iotedge)
    if rel.notice:
        sys.stderr.write(f"notice: {rel.notice}\n")
    current_bytes = _current(args)
    settings = _settings(args, None)
    where = rel.config_path
    if args.platform == "windows" and rel.config_path_windows:
        where = rel.config_path_windows
    current = None if current_bytes is None else _text(current_bytes, args.current)
    findings: tuple[Finding, ...]
    # Parse errors name the local file that was read; findings name the device file.
    source = args.current if current is not None else str(args.template or "edgecert template")
    if rel.is_legacy:
        new, findings = edit_config_yaml(current, legacy_from_settings(settings), where=source)
    else:
        template = None
        if args.template is not None:
            template = _text(_read(args.template, "the template"), str(args.template))
        new = edit_config_toml(current, settings, rel, template=template, where=source)
        findings = check_config_toml(new, rel, where=where)
    sys.stdout.write(config_diff(current, new, device_path=where))
    _report(findings, where)
    if errors_in(findings):
        if args.output is not None:
            sys.stderr.write(f"edgecert: {shown(args.output)} not written: fix the errors "
                             "first\n")
        return 1
    if args.output is not None:
        write_atomic(args.output, new.encode("utf-8"), 0o600, what="the new config")
        work_complete()
    return 0


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError("not UTF-8 text", hint="Save the file as UTF-8.",
                                  where=where) from exc


def _cmd_migrate(args: argparse.Namespace) -> int:
    where = str(args.config_yaml)
    text = _text(_read(args.config_yaml, "the config.yaml"), where)
    try:
        migration = migrate_config_yaml(text, where=where)
    except ConfigParseError as exc:
        if looks_like_toml(text):
            exc.hint = ("This is already a 1.2+ config.toml: there is nothing to migrate "
                        "(edit it with `edgecert config diff --iotedge 1.5`).")
        raise
    sys.stdout.write(migration.to_toml())
    _report(migration.findings, where)
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    rel: EdgeRelease = release(args.iotedge)
    platform: Platform = args.platform
    if rel.notice:
        sys.stderr.write(f"notice: {rel.notice}\n")
    cert = None if args.cert_file is None else _read(args.cert_file, "the edge CA file",
                                                     MAX_FILE)
    key = None if args.key_file is None else _read(args.key_file, "the key file", MAX_FILE)
    bundle = None if args.bundle_file is None else _read(args.bundle_file, "the trust bundle",
                                                         MAX_FILE)
    template = None if args.template is None else _read(args.template, "the template")
    files_given = cert is not None or key is not None or bool(args.edge_ca_cert)
    settings = _settings(args, default_paths(rel, platform), files_given=files_given)
    if isinstance(settings.edge_ca, Preloaded) and is_pkcs11(settings.edge_ca.pk) and key:
        raise UsageError("--key-file given but the key is a PKCS#11 URI",
                         hint="A key in an HSM is not installed as a file; drop --key-file.")
    lifetime, cn = _cert_facts(cert)
    plan = build_plan(release=rel, platform=platform, settings=settings,
                      current_config=_current(args), edge_ca_cert=cert, edge_ca_key=key,
                      trust_bundle=bundle, template=template, cert_lifetime=lifetime,
                      edge_ca_cn=cn)
    if args.json:
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(describe_plan(plan))
    return 0


def describe_plan(plan: Plan) -> str:
    """The plan as text for a technician, config diff included (secrets redacted)."""
    lines = [f"Plan for IoT Edge {plan.release} on {plan.platform}", ""]
    if plan.dirs:
        lines.append("Directories:")
        lines += [f"  {d.path}  {d.mode:04o} {d.owner}:{d.group}" for d in plan.dirs]
    if plan.files:
        lines.append("Files:")
        lines += [f"  {f.path}  {f.mode:04o} {f.owner}:{f.group}  ({f.role}, {len(f.data)} "
                  f"bytes, sha256 {f.sha256[:16]}…)" for f in plan.files]
    cfg = plan.config
    state = "new file" if cfg.before is None else (
        f"sha256 before {cfg.before_sha256}" if cfg.changed else "unchanged")
    lines.append(f"Config: {cfg.path}  {cfg.mode:04o} {cfg.owner}:{cfg.group}  ({state})")
    if plan.clear.files or plan.clear.dir_contents:
        lines.append("Clear stale state:")
        lines += [f"  delete {p}" for p in plan.clear.files]
        lines += [f"  empty  {p}" for p in plan.clear.dir_contents]
    lines.append("Apply:")
    lines += [f"  {'sudo ' if c.sudo else ''}{' '.join(c.argv)}" for c in plan.apply]
    lines.append("Check:")
    lines += [f"  {'sudo ' if c.sudo else ''}{' '.join(c.argv)}" for c in plan.check]
    lines.append(f"  report: {', '.join(plan.check_ids)}")
    if plan.readable:
        lines.append("Must be readable (file and every parent directory):")
        lines += [f"  {r.path} by {r.user}" for r in plan.readable]
    if plan.warnings:
        lines.append("Warnings:")
        lines += [f"  - {w}" for w in plan.warnings]
    lines += ["", plan_diff(plan) or "(config unchanged)"]
    return shown("\n".join(lines).rstrip("\n"), keep_newlines=True, keep_tabs=True) + "\n"
