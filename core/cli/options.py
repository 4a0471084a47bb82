"""Options shared by several ``edgecert`` commands, as public parent parsers, and the one
reading of them into core's values (``SettingsChoice``, local input files).

A command takes the shared options with ``add_parser(…, parents=[config_options(…)])``; each
flag means one thing wherever it appears.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.chain.load import PASSWORD_FILE_MAX
from core.config.settings import (
    DEFAULT_QUICKSTART_DAYS,
    AutoRenew,
    EstServer,
    Method,
    SettingsChoice,
)
from core.config.toml_edit import MAX_CONFIG_BYTES
from core.errors import UnreadableFileError, UsageError
from core.fs import read_input
from core.versions import PLATFORMS, EdgeRelease, Platform


def config_options(*, current: bool = True, auto_version: bool = False,
                   platform: bool = True) -> argparse.ArgumentParser:
    """The release, platform, current config and certificate settings options.

    Args:
        current: ``--current`` is required (the command has no device to read it from);
            otherwise it is accepted but not shown.
        auto_version: ``--iotedge`` may be ``auto`` (read from the device).
        platform: ``--platform`` is shown (an EFLOW command fixes it).
    """
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--iotedge", required=True,
                   metavar="VERSION|auto" if auto_version else "VERSION",
                   help="IoT Edge version on the device, e.g. 1.6 (`iotedge version`)")
    p.add_argument("--platform", choices=PLATFORMS, default="linux",
                   help="linux, eflow, or windows (1.1 with Windows containers)"
                   if platform else argparse.SUPPRESS)
    p.add_argument("--current", required=current, metavar="FILE",
                   help="the device's current config file; '-' when it has none yet"
                   if current else argparse.SUPPRESS)
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
    return p


def read_file(path: Path, what: str, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """A local input file, bounded (``core.fs.read_input``): configs and templates 1 MiB."""
    return read_input(path, limit, what)


def text(data: bytes, where: str) -> str:
    """Bytes of a local file as UTF-8 text, or a typed error naming the file."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError("not UTF-8 text", hint="Save the file as UTF-8.",
                                  where=where) from exc


def current_config(args: argparse.Namespace) -> bytes | None:
    """The bytes of ``--current`` (None for '-')."""
    if args.current is None or args.current == "-":
        return None
    return read_file(Path(args.current), "the current config")


def settings_choice(args: argparse.Namespace, release: EdgeRelease, platform: Platform, *,
                    edge_ca_cert: str | None = None, edge_ca_key: str | None = None,
                    trust_bundle: str | None = None, folder: str | None = None,
                    installs_edge_ca: bool, installs_trust_bundle: bool) -> SettingsChoice:
    """The options of :func:`config_options` as a :class:`SettingsChoice`.

    The device paths (``edge_ca_cert`` …) and ``folder`` are those of the command's own
    options; the flags that exclude each other are refused here, by name.
    """
    chosen = [name for name, on in (("--quickstart-days", args.quickstart_days is not None),
                                    ("--edge-ca-method", args.edge_ca_method is not None)) if on]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} exclude each other",
                         hint="Choose exactly one kind of edge CA.")
    method: Method = "files"
    if args.quickstart_days is not None:
        method = "quickstart"
    elif args.edge_ca_method:
        method = args.edge_ca_method
    est = None
    if method == "est":
        if not args.est_url:
            raise UsageError("an EST edge CA needs --est-url",
                             hint="Give the EST server URL, e.g. "
                                  "https://est.example.org/.well-known/est.")
        password = None
        if args.est_password_file is not None:
            password = text(read_file(args.est_password_file, "the EST password file",
                                      PASSWORD_FILE_MAX), str(args.est_password_file)).strip()
        est = EstServer(args.est_url, tuple(args.est_trusted_cert),
                        username=args.est_username, password=password)
    renew = None
    if args.renew_threshold or args.renew_retry or args.rotate_key:
        if not (args.renew_threshold and args.renew_retry):
            raise UsageError("auto-renewal needs --renew-threshold and --renew-retry together",
                             hint='E.g. --renew-threshold 80% --renew-retry 4% --rotate-key yes.')
        renew = AutoRenew(args.rotate_key != "no", args.renew_threshold, args.renew_retry)
    return SettingsChoice(
        release=release, platform=platform, method=method, cert_dir=folder, key_dir=folder,
        edge_ca_cert=edge_ca_cert, edge_ca_key=edge_ca_key, trust_bundle=trust_bundle,
        installs_edge_ca=installs_edge_ca, installs_trust_bundle=installs_trust_bundle,
        quickstart_days=args.quickstart_days if args.quickstart_days is not None else
        DEFAULT_QUICKSTART_DAYS, common_name=args.common_name,
        expiry_days=args.expiry_days, est=est, auto_renew=renew, pkcs11_lib=args.pkcs11_lib)
