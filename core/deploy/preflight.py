"""The pre-flight of every deploy and export bundle: nothing is written before it passes.

Two parts, both pure:

* ``load_inputs`` reads the local files (PEM in any order, DER, PKCS#12/PFX, PKCS#1/#8/SEC1,
  through ``core.chain.load``) and checks each against its role: a trust bundle holds
  certificates only, a key file one private key only, an edge CA file certificates (a PFX may
  carry both; only the certificates are installed from it).
* ``preflight`` runs the whole chain check of ``edgecert chain check``
  (``core.chain.validate``) with the deploy's expiry window, and gives the bytes to install:
  the edge CA file as PEM in chain order (edge CA first; a reordering is a notice), the key
  decrypted as PKCS#8 PEM (the runtime cannot read encrypted keys), the trust bundle as PEM.

``plan_deploy`` is the one function the CLI, the wizard and the bundle export call: pre-flight,
then ``build_plan`` with the checked bytes. ``deploy()`` and ``export_bundle()`` call
``require_preflight`` on the plan they are given, so a plan that skipped it is checked again
(and refused) before the device or the bundle folder is touched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from core.chain.inspect import common_name
from core.chain.keys import private_key_pem
from core.chain.load import Material, is_pkcs12, load_bytes, read_file
from core.chain.order import dedupe
from core.chain.validate import Finding, check_files
from core.config.planning import build_plan
from core.config.settings import CertSettings
from core.errors import (
    InputError,
    PasswordRequiredError,
    PreflightError,
    ReleaseMismatchError,
)
from core.plan import FileRole, Plan
from core.versions import EdgeRelease, Platform, release

DEPLOY_WARN_DAYS = 30
"""A deploy warns when a certificate of the chain ends within this many days (or within the
release's own warning period when that is longer: 90 days on 1.1)."""

Source = Path | bytes
_ROLE_NAMES: dict[FileRole, str] = {
    "edge-ca-cert": "edge CA file", "edge-ca-key": "edge CA key file",
    "trust-bundle": "trust bundle", "other": "file",
}


@dataclass(frozen=True)
class LoadedFile:
    """One input file as read: its role, where it came from and what it holds."""

    role: FileRole
    where: str
    material: Material = field(repr=False)
    container: bool = False
    """A PKCS#12/PFX file, which may carry certificates and a key together."""


@dataclass(frozen=True)
class Inputs:
    """The three certificate files of a deploy (None: not given) and their role findings."""

    edge_ca_cert: LoadedFile | None = None
    edge_ca_key: LoadedFile | None = None
    trust_bundle: LoadedFile | None = None
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Preflight:
    """What the pre-flight found and the bytes the plan installs."""

    findings: tuple[Finding, ...]
    notices: tuple[str, ...] = ()
    edge_ca_cert: bytes | None = field(default=None, repr=False)
    edge_ca_key: bytes | None = field(default=None, repr=False)
    trust_bundle: bytes | None = field(default=None, repr=False)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "warning")

    @property
    def ok(self) -> bool:
        """No errors (warnings still need the user's confirmation)."""
        return not self.errors

    def raise_for_errors(self, where: str | None = None) -> None:
        """Raise ``PreflightError`` listing every error (with its hint) when there is one."""
        if self.ok:
            return
        lines = [describe_finding(f) for f in self.errors]
        raise PreflightError(
            f"the certificate files failed the pre-flight check ({len(lines)} error(s)); "
            "nothing was written:\n  " + "\n  ".join(lines),
            findings=self.errors, where=where,
            hint="Fix the files (`edgecert chain check` shows the same findings), then run "
                 "again.")


@dataclass(frozen=True)
class CheckedPlan:
    """A plan built from files that passed the pre-flight, and that pre-flight."""

    plan: Plan
    preflight: Preflight


def describe_finding(f: Finding) -> str:
    """One line: severity, code, subject, message and hint."""
    subject = f" [{f.subject}]" if f.subject else ""
    hint = f" (hint: {f.hint})" if f.hint else ""
    return f"{f.severity} {f.code}{subject}: {f.message}{hint}"


# ---- loading and role checks ------------------------------------------------------------------


def _load(source: Source, role: FileRole, password: str | None, ask_with: str
          ) -> LoadedFile:
    where = str(source) if isinstance(source, Path) else _ROLE_NAMES[role]
    try:
        data = read_file(source) if isinstance(source, Path) else source
        material = load_bytes(data, where=where, password=password)
    except PasswordRequiredError as exc:
        raise PasswordRequiredError(
            f"the {_ROLE_NAMES[role]} is encrypted and no password was given",
            where=exc.where,
            hint=f"Give its password with {ask_with}; the key is installed decrypted "
                 "(0600, readable by the key service only), as the runtime cannot read "
                 "encrypted keys.") from None
    return LoadedFile(role, where, material, is_pkcs12(data))


def _role_findings(f: LoadedFile) -> list[Finding]:
    """A file against its role: certificates only, one key only, no secret in a public file."""
    out: list[Finding] = []
    certs, keys = f.material.certs, f.material.keys
    if f.role == "trust-bundle":
        if keys:
            out.append(Finding(
                "error", "private-key-in-trust-bundle",
                f"the trust bundle {f.where} holds a private key; the trust bundle is installed "
                "readable by everyone (0644)",
                "Give the root CA certificate as the trust bundle and keep private keys out of "
                "it.", f.where))
        if not certs:
            out.append(Finding("error", "no-certificate",
                               f"the trust bundle {f.where} holds no certificate",
                               "Give the root CA certificate (PEM, DER or a PFX of "
                               "certificates).", f.where))
    elif f.role == "edge-ca-cert":
        if keys and not f.container:
            out.append(Finding(
                "error", "private-key-in-certificate-file",
                f"the edge CA file {f.where} holds a private key; certificate files are "
                "installed readable by everyone (0644)",
                "Give the certificate chain alone as the edge CA file and the key as the key "
                "file.", f.where))
        if not certs:
            out.append(Finding(
                "error", "no-certificate",
                f"the edge CA file {f.where} holds "
                + ("a private key, not a certificate" if keys else "no certificate"),
                "Give the edge CA certificate (full chain) file.", f.where))
    elif f.role == "edge-ca-key":
        if not keys:
            out.append(Finding(
                "error", "no-private-key",
                f"the edge CA key file {f.where} holds "
                + ("a certificate, not a private key" if certs else "no private key"),
                "Give the edge CA's private key file (the one made with its certificate).",
                f.where))
        elif len(keys) > 1:
            out.append(Finding("error", "several-keys",
                               f"the edge CA key file {f.where} holds {len(keys)} private keys",
                               "Give a file with the edge CA's key only.", f.where))
        if certs and not f.container:
            out.append(Finding(
                "error", "certificate-in-key-file",
                f"the edge CA key file {f.where} also holds certificates",
                "Give the key alone as the key file and the chain as the edge CA file.",
                f.where))
    else:
        if keys:
            out.append(Finding("error", "private-key-in-file",
                               f"{f.where} holds a private key but is not installed as a secret",
                               "Install private keys only as the edge CA key.", f.where))
    return out


def load_inputs(
    *,
    edge_ca_cert: Source | None = None,
    edge_ca_key: Source | None = None,
    trust_bundle: Source | None = None,
    password: str | None = None,
    ask_with: str = "--password-file FILE",
) -> Inputs:
    """Read the local certificate files and check each against its role.

    Args:
        edge_ca_cert, edge_ca_key, trust_bundle: a local path, or bytes (named by role).
        password: opens encrypted keys and PFX files (never logged).
        ask_with: how the front end takes a password (named in the hint).

    Raises:
        UnreadableFileError, CorruptFileError, PasswordRequiredError, WrongPasswordError,
        Pkcs12MacMissingError: naming the file.
    """
    loaded: dict[FileRole, LoadedFile | None] = {}
    given: tuple[tuple[FileRole, Source | None], ...] = (
        ("edge-ca-cert", edge_ca_cert), ("edge-ca-key", edge_ca_key),
        ("trust-bundle", trust_bundle))
    for role, source in given:
        loaded[role] = None if source is None else _load(source, role, password,
                                                         ask_with)
    findings = [f for lf in loaded.values() if lf is not None for f in _role_findings(lf)]
    return Inputs(loaded["edge-ca-cert"], loaded["edge-ca-key"], loaded["trust-bundle"],
                  tuple(findings))


# ---- the chain check and the bytes to install ---------------------------------------------------


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _label(cert: x509.Certificate) -> str:
    return common_name(cert) or cert.subject.rfc4514_string() or "(empty subject)"


_NOT_CHECKED_KEY = ("no-key",)
_REFUSED_WARNINGS = ("weak-key",)
"""``chain check`` warnings that a deploy treats as errors."""
_NOT_CHECKED_BUNDLE = ("empty-trust-bundle", "root-missing")


def preflight(
    inputs: Inputs,
    *,
    release: EdgeRelease,
    hostname: str | None = None,
    now: dt.datetime | None = None,
    warn_days: int = DEPLOY_WARN_DAYS,
) -> Preflight:
    """The role findings plus ``chain check``'s findings, and the bytes to install.

    A key that is not given (already on the device, or in an HSM) and a trust bundle that is not
    given cannot be compared offline: those checks become warnings that say so.
    """
    findings = list(inputs.findings)
    notices: list[str] = []
    edge, key_file, bundle = inputs.edge_ca_cert, inputs.edge_ca_key, inputs.trust_bundle
    key = key_file.material.keys[0] if key_file is not None and key_file.material.keys else None
    key_pem = private_key_pem(key) if key is not None else None
    bundle_certs = dedupe(bundle.material.certs) if bundle is not None else []
    bundle_pem = _pem(bundle_certs) if bundle_certs else None
    if edge is None or not edge.material.certs:
        if edge is None and key_file is not None:
            findings.append(Finding(
                "warning", "key-not-checked",
                "the edge CA key is installed without its certificate: they cannot be "
                "compared", "iotedge check compares them after apply "
                "(certs-match-private-keys)."))
        return Preflight(tuple(findings), (), None, key_pem, bundle_pem)

    edge_certs = dedupe(edge.material.certs)
    report = check_files(
        Material(tuple(edge_certs)), Material(keys=(key,) if key is not None else ()),
        Material(tuple(bundle_certs)), release=release, hostname=hostname, now=now,
        warn_days=warn_days)
    for f in report.findings:
        if key_file is None and f.code in _NOT_CHECKED_KEY:
            findings.append(Finding(
                "warning", "key-not-checked",
                f"the {release.ca_term} key is not installed by edgecert (it must already be "
                "on the device, or in the HSM), so it cannot be compared with the certificate",
                "iotedge check compares them after apply (certs-match-private-keys).",
                f.subject))
        elif bundle is None and f.code in _NOT_CHECKED_BUNDLE:
            findings.append(Finding(
                "warning", "trust-bundle-not-checked",
                "the trust bundle is not installed by edgecert (it must already be on the "
                "device), so the chain cannot be checked against it",
                "Give the root CA as the trust bundle to have the whole chain checked.",
                f.subject))
        elif f.code in _REFUSED_WARNINGS:
            findings.append(dataclasses.replace(
                f, severity="error", hint=f"{f.hint} A deploy refuses weak keys: TLS clients "
                "at OpenSSL's default security level reject such a chain."))
        else:
            findings.append(f)

    chain = report.chain
    on_path = {_der(c) for c in chain}
    in_file = {_der(c) for c in edge_certs}
    installed = [c for c in chain if _der(c) in in_file]
    extra = [c for c in edge_certs if _der(c) not in on_path]
    if extra:
        findings.append(Finding(
            "warning", "unrelated-certificate",
            f"the {release.ca_term} file holds {len(extra)} certificate(s) outside its chain ("
            + ", ".join(_label(c) for c in extra) + "): they are not installed",
            f"Give the full-chain file of this {release.ca_term} only.", edge.where))
    given_order = [_der(c) for c in edge_certs if _der(c) in on_path]
    if given_order != [_der(c) for c in installed]:
        notices.append(
            f"the {release.ca_term} file {edge.where} was not in chain order; it is installed "
            f"{release.ca_term} first: " + " -> ".join(_label(c) for c in installed))
    if edge.container:
        notices.append(f"{edge.where} (PKCS#12) is installed as PEM certificates only")
    return Preflight(tuple(findings), tuple(notices), _pem(installed), key_pem, bundle_pem)


def check_plan(plan: Plan, *, now: dt.datetime | None = None) -> Preflight:
    """The pre-flight again, on the bytes a finished plan installs, plus its modes.

    Secret files (the edge CA key, the configuration) must not be readable by others.
    """
    roles: dict[FileRole, bytes] = {}
    extra: list[Finding] = []
    others: list[LoadedFile] = []
    for f in plan.files:
        if f.role == "other":
            others.append(LoadedFile("other", f.path, _material_or_empty(f.data, f.path)))
            if not f.secret:
                continue
        elif f.role in roles:
            extra.append(Finding("error", "duplicate-role", f"the plan installs two {f.role} "
                                 "files", "Build the plan again with edgecert.", f.path))
        else:
            roles[f.role] = f.data
        if f.role == "edge-ca-key" and not f.secret:
            extra.append(Finding("error", "secret-not-protected",
                                 f"the plan installs the key {f.path} as a public file",
                                 "Build the plan again with edgecert.", f.path))
        if (f.secret or f.role == "edge-ca-key") and f.mode & 0o007:
            extra.append(Finding("error", "secret-world-readable",
                                 f"the plan installs the key {f.path} with mode {f.mode:04o}, "
                                 "open to every user", "Keys are installed 0600.", f.path))
    if plan.config.mode & 0o007:
        extra.append(Finding("error", "secret-world-readable",
                             f"the plan writes {plan.config.path} with mode "
                             f"{plan.config.mode:04o}; it holds provisioning secrets",
                             "The configuration is written 0600.", plan.config.path))
    try:
        inputs = load_inputs(edge_ca_cert=roles.get("edge-ca-cert"),
                             edge_ca_key=roles.get("edge-ca-key"),
                             trust_bundle=roles.get("trust-bundle"))
    except InputError as exc:
        raise PreflightError(f"a file of the plan is not usable certificate material: {exc}",
                             hint="Build the plan again with edgecert from the real files.",
                             where=plan.config.path) from None
    inputs = dataclasses.replace(inputs, findings=(
        *inputs.findings, *(f for o in others for f in _role_findings(o)), *extra))
    return preflight(inputs, release=release(plan.release), now=now)


def _material_or_empty(data: bytes, where: str) -> Material:
    try:
        return load_bytes(data, where=where)
    except Exception:  # not certificate material at all: nothing secret to find in it
        return Material()


def require_preflight(plan: Plan, *, now: dt.datetime | None = None) -> Preflight:
    """``check_plan``, refusing a plan with errors (warnings were the front end's to confirm).

    Raises:
        PreflightError: every error, nothing touched.
    """
    result = check_plan(plan, now=now)
    result.raise_for_errors()
    return result


def check_device_release(wanted: str | None, detected: str | None, *, where: str) -> None:
    """Refuse ``--iotedge VERSION`` when the device reports another release.

    The release decides the configuration file and format, the chain rules, the owners and the
    apply command, so a plan for another release is wrong for the device even when it applies.
    When the device does not answer (``detected`` None) the named release is used.

    Raises:
        ReleaseMismatchError: naming both versions.
    """
    if wanted is None or wanted == "auto" or detected is None:
        return
    named, found = release(wanted), release(detected)
    if named.key != found.key:
        raise ReleaseMismatchError(
            f"--iotedge {wanted} was given but the device reports IoT Edge {detected} "
            f"({found.label})", where=where,
            hint=f"Drop --iotedge (the device's version is detected) or give --iotedge "
                 f"{found.key}; nothing was written.")


def plan_deploy(
    inputs: Inputs,
    *,
    release: EdgeRelease,
    platform: Platform,
    settings: CertSettings,
    current_config: bytes | None,
    template: bytes | None = None,
    device_folders: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> CheckedPlan:
    """Pre-flight the files, then build the plan from the checked bytes.

    The plan's warnings carry the pre-flight's notices and warnings, so every preview shows
    them.

    Raises:
        PreflightError: the files failed the pre-flight (every error listed).
        and whatever ``build_plan`` raises (settings, config, device paths).
    """
    result = preflight(inputs, release=release, now=now)
    result.raise_for_errors()
    plan = build_plan(release=release, platform=platform, settings=settings,
                      current_config=current_config, edge_ca_cert=result.edge_ca_cert,
                      edge_ca_key=result.edge_ca_key, trust_bundle=result.trust_bundle,
                      template=template, device_folders=device_folders)
    shown = (*result.notices, *(f"{f.message} ({f.hint})" for f in result.warnings))
    plan = dataclasses.replace(plan, warnings=(*plan.warnings, *shown))
    return CheckedPlan(plan, result)
