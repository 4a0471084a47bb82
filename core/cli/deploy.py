"""``edgecert deploy``, ``device status``, ``eflow …`` and ``export-bundle``.

The config options and plan building are those of ``edgecert plan`` (``core.cli.config``);
here the current config comes from the device itself, and the three certificate options name
LOCAL files to install.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.bundle import export_bundle
from core.cli.config import describe_plan
from core.cli.options import config_options, current_config, read_file, settings_choice
from core.config.settings import SettingsChoice, cert_settings
from core.deploy import deploy, read_device_state
from core.deploy.preflight import (
    CheckedPlan,
    Inputs,
    Preflight,
    check_device_release,
    describe_finding,
    load_inputs,
    plan_deploy,
)
from core.deploy.state import DeviceState
from core.deploy.status import device_status
from core.errors import UsageError
from core.progress import ProgressEvent
from core.targets.base import Target
from core.versions import DEFAULT_RELEASE, EdgeRelease, Platform, release


def register(subparsers: Any) -> None:
    """Add ``deploy``, ``device status``, ``eflow`` and ``export-bundle``."""
    dep = subparsers.add_parser(
        "deploy", parents=[config_options(current=False, auto_version=True)],
        help="put the device on your certificate chain (plan, confirm, deploy, check)",
        description="Read the device, show the plan and config diff, ask, deploy with backup "
        "and rollback, then report the certificate checks. Once the install starts it runs on "
        "the device to its end (or rolls back) whatever happens to this command or the "
        "connection. Exit 0 live; 1 failed or cancelled, rolled back; 2 bad input or refused, "
        "nothing touched; 3 the rollback failed (or the outcome could not be read); 130 "
        "interrupted before the install, nothing touched.")
    _ssh_options(dep)
    _plan_options(dep, device=True)
    _link_option(dep)
    dep.add_argument("--dry-run", action="store_true", help="show the plan only")
    dep.set_defaults(func=_cmd_deploy, platform_fixed=None)

    dev = subparsers.add_parser("device", help="look at a device")
    dsub = dev.add_subparsers(dest="device_command", metavar="COMMAND", required=True)
    st = dsub.add_parser("status", help="version, edge CA, trust bundle and their expiry, "
                         "last backup")
    _ssh_options(st)
    st.add_argument("--iotedge", default="auto", metavar="VERSION|auto")
    st.set_defaults(func=_cmd_status)

    ef = subparsers.add_parser("eflow", help="the same for an EFLOW VM (run on its Windows host)")
    esub = ef.add_subparsers(dest="eflow_command", metavar="COMMAND", required=True)
    edep = esub.add_parser(
        "deploy", parents=[config_options(current=False, auto_version=True, platform=False)],
        help="deploy into the EFLOW VM through the EFLOW cmdlets")
    _eflow_options(edep)
    _plan_options(edep, device=True)
    _link_option(edep)
    edep.add_argument("--dry-run", action="store_true", help="show the plan only")
    edep.set_defaults(func=_cmd_deploy, platform_fixed="eflow")
    est = esub.add_parser("status", help="device status of the EFLOW VM")
    _eflow_options(est)
    est.add_argument("--iotedge", default="auto", metavar="VERSION|auto")
    est.set_defaults(func=_cmd_status, platform_fixed="eflow")
    eaddr = esub.add_parser("address", help="the VM's IP address (Get-EflowVmAddr)")
    eaddr.set_defaults(func=_cmd_eflow_address)

    exp = subparsers.add_parser(
        "export-bundle", parents=[config_options()],
        help="write the plan as a folder or zip with install.sh / install.ps1",
        description="For devices reached by USB stick or a jump host: the bundle's install.sh "
        "does what deploy does (drift check, backup, modes, apply, check, rollback).")
    exp.add_argument("--out", required=True, type=Path, metavar="DIR|ZIP")
    exp.add_argument("--force", action="store_true",
                     help="replace an existing bundle zip or folder (once the new one is whole)")
    _plan_options(exp, device=False)
    _link_option(exp)
    exp.set_defaults(func=_cmd_export)


# ---- options ------------------------------------------------------------------------------------


def _ssh_options(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="device name or address (SSH)")
    where.add_argument("--local", action="store_true", help="this computer")
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--user", help="SSH user (root, or a user with sudo)")
    p.add_argument("--identity", type=Path, metavar="KEY", help="SSH private key file")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the login/sudo password from the first line of stdin")
    p.add_argument("--known-hosts", type=Path, action="append", metavar="FILE",
                   help="known_hosts file (repeatable; default ~/.ssh/known_hosts and "
                   "edgecert's own)")
    p.add_argument("--accept-host-key", metavar="SHA256:…",
                   help="accept this host key fingerprint on first contact")


def _link_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-link", action="append", default=[], metavar="PATH",
                   help="allow this symbolic link on the way to a target path (repeatable); "
                   "other links are refused. Its target's owner and mode are left as they are")


def _eflow_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ssh-host", metavar="IP", help="VM address for the SSH fallback "
                   "(default: Get-EflowVmAddr)")
    p.add_argument("--id-rsa", type=Path, metavar="KEY",
                   help=r"SSH fallback key (default C:\Program Files\Azure IoT Edge\id_rsa)")
    p.add_argument("--known-hosts", type=Path, action="append", metavar="FILE")
    p.add_argument("--accept-host-key", metavar="SHA256:…")


def _plan_options(p: argparse.ArgumentParser, *, device: bool) -> None:
    p.add_argument("--edge-ca-cert", type=Path, metavar="FILE",
                   help="edge CA certificate and chain to install (PEM in any order, DER or "
                   "PFX; installed as PEM, edge CA first)")
    p.add_argument("--edge-ca-key", type=Path, metavar="FILE",
                   help="edge CA private key (PEM, DER or PFX; installed decrypted, 0600)")
    p.add_argument("--trust-bundle", type=Path, metavar="FILE",
                   help="root CA certificate(s) (PEM, DER or a PFX of certificates)")
    p.add_argument("--password-file", type=Path, metavar="FILE",
                   help="file whose first line opens an encrypted key or PFX")
    p.add_argument("--device-folder", metavar="DIR",
                   help="put the three files in this device folder instead of the release's "
                   "own (a folder of its own, never a system folder)")
    p.add_argument("--yes", action="store_true",
                   help="do not ask before " + ("deploying" if device else
                                                "writing a bundle with pre-flight warnings"))


# ---- helpers ------------------------------------------------------------------------------------


def _password(args: argparse.Namespace) -> str | None:
    if not getattr(args, "password_stdin", False):
        return None
    line = sys.stdin.readline()
    if not line:
        raise UsageError("--password-stdin given but stdin is empty",
                         hint="Pipe the password in, e.g. from a password manager.")
    return line.rstrip("\r\n")


def _open(args: argparse.Namespace) -> Target:
    if getattr(args, "platform_fixed", None) == "eflow":
        from core.targets.eflow import connect_eflow

        return connect_eflow(host=args.ssh_host, id_rsa=args.id_rsa,
                             known_hosts=args.known_hosts,
                             accept_fingerprint=args.accept_host_key)
    password = _password(args)
    if args.local:
        from core.targets.local import LocalTarget

        return LocalTarget(sudo_password=password)
    if not args.user:
        raise UsageError("--user is required with --host",
                         hint="Give the SSH user (root, or a user with sudo).")
    from core.targets.ssh import SshTarget

    return SshTarget.connect(args.host, port=args.port, user=args.user, key_file=args.identity,
                             password=password, sudo_password=password,
                             known_hosts=args.known_hosts,
                             accept_fingerprint=args.accept_host_key)


def _read(path: Path | None, what: str) -> bytes | None:
    return None if path is None else read_file(path, what)


def _inputs(args: argparse.Namespace) -> Inputs:
    """The three local files, read and checked against their roles (before any connection)."""
    from core.chain.load import read_password_file

    inputs = load_inputs(edge_ca_cert=args.edge_ca_cert, edge_ca_key=args.edge_ca_key,
                         trust_bundle=args.trust_bundle,
                         password=read_password_file(args.password_file))
    Preflight(inputs.findings).raise_for_errors()
    return inputs


def _choice(args: argparse.Namespace, rel: EdgeRelease, platform: Platform,
            inputs: Inputs | None) -> SettingsChoice:
    """The certificate settings chosen; the three file options name LOCAL files here, installed
    at the standard names in the release's folders or in ``--device-folder``."""
    installs = inputs is not None and (inputs.edge_ca_cert is not None
                                       or inputs.edge_ca_key is not None)
    return settings_choice(args, rel, platform, folder=args.device_folder,
                           installs_edge_ca=installs,
                           installs_trust_bundle=installs or (
                               inputs is not None and inputs.trust_bundle is not None))


def _plan(args: argparse.Namespace, inputs: Inputs, rel: EdgeRelease, platform: Platform,
          current: bytes | None, template: bytes | None) -> CheckedPlan:
    local_template = _read(args.template, "template")
    choice = _choice(args, rel, platform, inputs)
    return plan_deploy(inputs, release=rel, platform=platform, settings=cert_settings(choice),
                       current_config=current, template=local_template or template,
                       device_folders=choice.folders)


def _show_preflight(checked: CheckedPlan) -> None:
    """Notices and warnings of the pre-flight on stderr (the plan lists them too)."""
    pf = checked.preflight
    for note in pf.notices:
        sys.stderr.write(f"notice: {note}\n")
    for f in pf.warnings:
        sys.stderr.write(describe_finding(f) + "\n")


def _progress(ev: ProgressEvent) -> None:
    if ev.step == "upload":
        if ev.done == ev.total:
            _say(f"  uploaded {ev.total} bytes\n")
        return
    _say(f"{ev.step}: {ev.message}\n")


def _confirm(args: argparse.Namespace, checked: CheckedPlan, action: str) -> bool:
    """``--yes``, or the technician's answer at the terminal (warnings named in the question)."""
    warned = len(checked.preflight.warnings)
    if args.yes:
        if warned:
            sys.stderr.write(f"--yes: going on despite {warned} pre-flight warning(s)\n")
        return True
    question = f"{action}" + (f" despite {warned} pre-flight warning(s)" if warned else "")
    if getattr(args, "password_stdin", False):
        raise UsageError(f"cannot ask for confirmation ({question}?): stdin carries the "
                         "password", hint="Add --yes after reviewing the plan (--dry-run).")
    if not sys.stdin.isatty():
        raise UsageError(f"cannot ask for confirmation ({question}?): stdin is not a terminal",
                         hint="Review the plan and its warnings, then add --yes.")
    return input(f"{question}? [y/N] ").strip().lower() in ("y", "yes")


# ---- commands -----------------------------------------------------------------------------------


class _Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, delivered to the deploy like Ctrl-C."""


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """SIGTERM and SIGHUP raise in the deploy as Ctrl-C does, so it reports the truth."""
    def raise_it(signum: int, _frame: object) -> None:
        raise _Signalled(signal.Signals(signum).name)

    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):  # not the main thread / platform
                saved[sig] = signal.signal(sig, raise_it)
    try:
        yield
    finally:
        for sig, old in saved.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, old)


def _say(text: str) -> None:
    """Write to stderr; a closed terminal (SIGHUP) must not turn the outcome into a traceback."""
    with contextlib.suppress(OSError):
        sys.stderr.write(text)
        sys.stderr.flush()


def _cmd_deploy(args: argparse.Namespace) -> int:
    if (args.platform_fixed or args.platform) == "windows":
        return _deploy_windows(args)
    with _signals_as_interrupts():
        try:
            return _deploy_device(args)
        except KeyboardInterrupt:
            # before the device-side transaction started (deploy() handles it after)
            _say("edgecert: interrupted before the install; nothing on the device was changed\n")
            return 130


def _deploy_device(args: argparse.Namespace) -> int:
    inputs = _inputs(args)
    target = _open(args)
    try:
        wanted = None if args.iotedge == "auto" else args.iotedge
        platform: Platform = args.platform_fixed or args.platform
        paths = _choice(args, release(wanted or DEFAULT_RELEASE), platform, None).paths
        state = read_device_state(target, wanted, paths=[paths.edge_ca_cert, paths.edge_ca_key,
                                                         paths.trust_bundle])
        check_device_release(wanted, state.version, where=target.name)
        if state.release.notice:
            sys.stderr.write(f"notice: {state.release.notice}\n")
        if state.last_backup is not None:
            sys.stderr.write(f"last deploy on this device: {state.last_backup.describe()}\n")
        checked = _plan(args, inputs, state.release, platform, state.config, state.template)
        sys.stdout.write(f"device: {target.name}, IoT Edge {state.version or '?'}\n")
        return _confirm_and_deploy(args, checked, target, preview=state)
    finally:
        target.close()


def _confirm_and_deploy(args: argparse.Namespace, checked: CheckedPlan, target: Target, *,
                        preview: DeviceState | None = None) -> int:
    """Show the plan and its pre-flight, ask (unless --dry-run or --yes), deploy, report."""
    sys.stdout.write(describe_plan(checked.plan))
    _show_preflight(checked)
    if args.dry_run:
        return 0
    if not _confirm(args, checked, "Deploy this plan"):
        sys.stderr.write("not deployed\n")
        return 2
    report = deploy(checked.plan, target, progress=_progress, preview=preview,
                    allow_links=tuple(args.allow_link))
    with contextlib.suppress(OSError):
        sys.stdout.write(report.describe() + "\n")
    return 0 if report.checks_ok else 1


def _deploy_windows(args: argparse.Namespace) -> int:
    """1.1 with Windows containers: this computer only; the config is read directly."""
    if not args.local or args.iotedge == "auto":
        raise UsageError("a Windows-containers device is deployed with --local --iotedge 1.1",
                         hint="Run edgecert on that Windows computer, as administrator.")
    inputs = _inputs(args)
    rel = release(args.iotedge)
    path = Path(rel.config_path_windows or rel.config_path)
    current = _read(path, "config.yaml")
    checked = _plan(args, inputs, rel, "windows", current, None)
    from core.targets.local import LocalTarget

    return _confirm_and_deploy(args, checked, LocalTarget())


def _cmd_status(args: argparse.Namespace) -> int:
    target = _open(args)
    try:
        st = device_status(target, None if args.iotedge == "auto" else args.iotedge)
    finally:
        target.close()
    sys.stdout.write(st.describe(dt.datetime.now(dt.UTC)) + "\n")
    return 0


def _cmd_eflow_address(args: argparse.Namespace) -> int:
    from core.targets.eflow import EflowTarget

    target = EflowTarget()
    try:
        sys.stdout.write(target.address() + "\n")
    finally:
        target.close()
    return 0


def export_plan(args: argparse.Namespace) -> CheckedPlan:
    """The checked plan of ``export-bundle``'s options (its files read, nothing written)."""
    inputs = _inputs(args)
    return _plan(args, inputs, release(args.iotedge), args.platform, current_config(args), None)


def _cmd_export(args: argparse.Namespace) -> int:
    checked = export_plan(args)
    sys.stdout.write(describe_plan(checked.plan))
    _show_preflight(checked)
    if checked.preflight.warnings and not _confirm(args, checked, "Write the bundle"):
        sys.stderr.write("no bundle written\n")
        return 2
    rep = export_bundle(checked.plan, args.out, force=args.force,
                        allow_links=tuple(args.allow_link))
    sys.stdout.write(rep.describe() + "\n")
    return 0
