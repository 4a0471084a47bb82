"""``edgecert config diff``, ``edgecert config migrate`` and ``edgecert plan``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.chain.load import MAX_FILE
from core.cli import work_complete
from core.cli.options import config_options, current_config, read_file, settings_choice, text
from core.config.diff import config_diff
from core.config.migrate import migrate_config_yaml
from core.config.planning import build_plan, plan_diff
from core.config.settings import Preloaded, cert_settings
from core.config.toml_edit import edit_config_toml
from core.config.uris import is_pkcs11
from core.config.validate import Finding, check_config_toml, errors_in
from core.config.yaml_edit import edit_config_yaml, legacy_from_settings, looks_like_toml
from core.errors import ConfigParseError, UsageError, shown
from core.fs import write_atomic
from core.plan import Plan
from core.versions import EdgeRelease, Platform, release


def register(subparsers: Any) -> None:
    """Add ``config diff``, ``config migrate`` and ``plan`` to the ``edgecert`` parser."""
    config = subparsers.add_parser("config", help="edit, check and migrate the device config")
    sub = config.add_subparsers(dest="config_command", metavar="COMMAND")
    sub.required = True

    diff = sub.add_parser(
        "diff", parents=[config_options()],
        help="show the change to config.toml/config.yaml (secrets redacted)",
        description="Print the unified diff between the device's config and the one edgecert "
                    "would write. Exit 0: no errors; 1: validation errors; 2: unreadable input.")
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
        "plan", parents=[config_options()], help="print the whole deploy plan (nothing is touched)",
        description="Compute what a deploy would do: directories, files, config change, state "
                    "to clear, commands and checks.")
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


def _report(findings: tuple[Finding, ...], where: str) -> None:
    for finding in findings:
        sys.stderr.write(finding.describe(where) + "\n")


# ---- commands -----------------------------------------------------------------------------------


def _cmd_diff(args: argparse.Namespace) -> int:
    rel = release(args.iotedge)
    if rel.notice:
        sys.stderr.write(f"notice: {rel.notice}\n")
    current_bytes = current_config(args)
    settings = cert_settings(settings_choice(
        args, rel, args.platform, edge_ca_cert=args.edge_ca_cert, edge_ca_key=args.edge_ca_key,
        trust_bundle=args.trust_bundle, installs_edge_ca=False, installs_trust_bundle=False))
    where = rel.config_path
    if args.platform == "windows" and rel.config_path_windows:
        where = rel.config_path_windows
    current = None if current_bytes is None else text(current_bytes, args.current)
    findings: tuple[Finding, ...]
    # Parse errors name the local file that was read; findings name the device file.
    source = args.current if current is not None else str(args.template or "edgecert template")
    if rel.is_legacy:
        new, findings = edit_config_yaml(current, legacy_from_settings(settings), where=source)
    else:
        template = None
        if args.template is not None:
            template = text(read_file(args.template, "the template"), str(args.template))
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


def _cmd_migrate(args: argparse.Namespace) -> int:
    where = str(args.config_yaml)
    yaml_text = text(read_file(args.config_yaml, "the config.yaml"), where)
    try:
        migration = migrate_config_yaml(yaml_text, where=where)
    except ConfigParseError as exc:
        if looks_like_toml(yaml_text):
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
    cert = None if args.cert_file is None else read_file(args.cert_file, "the edge CA file",
                                                         MAX_FILE)
    key = None if args.key_file is None else read_file(args.key_file, "the key file", MAX_FILE)
    bundle = None if args.bundle_file is None else read_file(args.bundle_file,
                                                             "the trust bundle", MAX_FILE)
    template = None if args.template is None else read_file(args.template, "the template")
    files_given = cert is not None or key is not None or bool(args.edge_ca_cert)
    settings = cert_settings(settings_choice(
        args, rel, platform, edge_ca_cert=args.edge_ca_cert, edge_ca_key=args.edge_ca_key,
        trust_bundle=args.trust_bundle, installs_edge_ca=files_given,
        installs_trust_bundle=files_given or bundle is not None))
    if isinstance(settings.edge_ca, Preloaded) and is_pkcs11(settings.edge_ca.pk) and key:
        raise UsageError("--key-file given but the key is a PKCS#11 URI",
                         hint="A key in an HSM is not installed as a file; drop --key-file.")
    plan = build_plan(release=rel, platform=platform, settings=settings,
                      current_config=current_config(args), edge_ca_cert=cert, edge_ca_key=key,
                      trust_bundle=bundle, template=template)
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
