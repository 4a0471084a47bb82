"""Check an edge CA chain before it goes near a device: findings with severity and hint.

Checks are explicit and link by link (signature, names, key identifiers, CA flags, pathlen,
dates), because the web-PKI verifier rejects chains IoT Edge accepts (architecture §6.5).
Version-dependent rules come from the release catalog (core.versions).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from core.chain.builder import CN_MAX_LENGTH
from core.chain.inspect import basic_constraints, common_name
from core.chain.keys import PrivateKey
from core.chain.load import Material
from core.chain.order import is_self_issued, key_matches, leaf_candidates, order_chain
from core.findings import Finding as Finding  # re-exported
from core.findings import Severity as Severity  # re-exported
from core.versions import EdgeRelease

_Y2050 = dt.datetime(2050, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ChainReport:
    """The ordered chain (edge CA first, root last when known) and the findings."""

    chain: tuple[x509.Certificate, ...]
    findings: tuple[Finding, ...]
    key: PrivateKey | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not any(f.severity == "error" for f in self.findings)

    @property
    def edge_ca(self) -> x509.Certificate | None:
        """The edge CA certificate (first of the chain)."""
        return self.chain[0] if self.chain else None

    @property
    def root(self) -> x509.Certificate | None:
        """The self-signed root ending the chain, or None when the chain does not reach one."""
        return self.chain[-1] if self.chain and is_self_issued(self.chain[-1]) else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report: ok, the chain (as summaries) and the findings."""
        from core.chain.inspect import inspect_certificate

        return {
            "ok": self.ok,
            "chain": [inspect_certificate(c).to_dict() for c in self.chain],
            "findings": [f.to_dict() for f in self.findings],
        }


def _label(cert: x509.Certificate) -> str:
    return common_name(cert) or cert.subject.rfc4514_string() or "(empty subject)"


def issuer_label(cert: x509.Certificate) -> str:
    """The issuer of ``cert`` by name (its CN, else the whole name), as in ``CN=…``."""
    from cryptography.x509.oid import NameOID

    names = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN={names[0].value!s}" if names else (cert.issuer.rfc4514_string() or
                                                  "the issuing CA")


def _ski(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def _aki(cert: x509.Certificate) -> bytes | None:
    try:
        return cert.extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        return None


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _key_size_finding(cert: x509.Certificate, role: str) -> Finding | None:
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey) and pub.key_size < 2048:
        return Finding("warning", "weak-key",
                       f"the {role} has an RSA {pub.key_size}-bit key",
                       "Use RSA 2048 or larger, or EC P-256 (iotedge check warns: key-pairs-read).",
                       _label(cert))
    if isinstance(pub, ec.EllipticCurvePublicKey) and pub.curve.name not in (
        "secp256r1", "secp384r1"
    ):
        return Finding("warning", "weak-key",
                       f"the {role} uses the curve {pub.curve.name}",
                       "Use EC P-256 (recommended by IoT Edge) or P-384.", _label(cert))
    if not isinstance(pub, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return Finding("warning", "weak-key", f"the {role} uses an unusual key type",
                       "Use RSA 2048+ or EC P-256.", _label(cert))
    return None


def _date_findings(cert: x509.Certificate, role: str, release: EdgeRelease,
                   now: dt.datetime, warn_days: int | None = None) -> list[Finding]:
    out: list[Finding] = []
    window = max(release.expiry_warning_days, warn_days or 0)
    label = _label(cert)
    nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < nb:
        out.append(Finding("error", "not-yet-valid",
                           f"the {role} is not valid before {nb:%Y-%m-%d %H:%M} UTC",
                           "Check the clock of the computer that issued it, or wait.", label))
    if now >= na:
        out.append(Finding("error", "expired",
                           f"the {role} expired on {na:%Y-%m-%d}",
                           "Issue a new certificate.", label))
    elif na - now < dt.timedelta(days=window):
        days = (na - now).days
        why = (f"IoT Edge {release.key} warns under {release.expiry_warning_days} days"
               if window == release.expiry_warning_days else
               f"a deploy should leave at least {window} days")
        out.append(Finding("warning", "expires-soon",
                           f"the {role} expires in {days} days ({na:%Y-%m-%d}); {why}",
                           "Plan its renewal, or issue it with a longer lifetime.", label))
    if release.not_after_limit is not None:
        if na >= _Y2050:
            out.append(Finding("error", "y2050",
                               f"the {role} expires in {na.year}: IoT Edge 1.1 cannot read dates "
                               "from 2050 on (GeneralizedTime)",
                               "Issue the whole chain with an end date before 2038.", label))
        elif na >= release.not_after_limit:
            out.append(Finding("error", "y2038",
                               f"the {role} expires after 2038-01-01 ({na:%Y-%m-%d}); IoT Edge "
                               "1.1 rejects such chains on 32-bit devices",
                               "Issue every certificate of the chain to end before 2038.", label))
    return out


def _sig_finding(cert: x509.Certificate, role: str) -> Finding | None:
    algo = cert.signature_hash_algorithm
    if isinstance(algo, hashes.SHA1 | hashes.MD5):
        if is_self_issued(cert):
            # A trust anchor's self-signature is not checked by TLS clients: only a warning.
            return Finding("warning", "weak-signature",
                           f"the {role} signs itself with {algo.name.upper()}",
                           "Plan to replace this root with a SHA-256 one.", _label(cert))
        return Finding("error", "weak-signature",
                       f"the {role} is signed with {algo.name.upper()}",
                       "Re-issue it with SHA-256; TLS libraries refuse SHA-1 signatures.",
                       _label(cert))
    return None


def validate_chain(
    edge: Material,
    *,
    key: PrivateKey | None,
    trust_bundle: Material,
    release: EdgeRelease,
    hostname: str | None = None,
    now: dt.datetime | None = None,
    warn_days: int | None = None,
) -> ChainReport:
    """Validate an edge CA file (certificate + chain), its key and the trust bundle.

    Args:
        edge: what the edge CA certificate file holds (edge CA first or in any order).
        key: the edge CA private key (None: reported as an error).
        trust_bundle: the trust bundle (its root must anchor the chain).
        release: the target IoT Edge release (pathlen, date and wording rules).
        hostname: the device hostname, which the edge CA CN must differ from.
        now: the reference time (default: now).
        warn_days: warn when a certificate ends within this many days, if that is longer
            than the release's own warning period (a deploy asks for 30).
    """
    now = now or dt.datetime.now(dt.UTC)
    term = release.ca_term
    findings: list[Finding] = []

    def add(f: Finding | None) -> None:
        if f is not None:
            findings.append(f)

    if not edge.certs:
        add(Finding("error", "no-certificate", f"the {term} file holds no certificate",
                    f"Choose the {term} certificate (full chain) file."))
        return ChainReport((), tuple(findings), key)

    # The leaf of the edge file: a cert no other cert in the file was issued by (the key only
    # chooses among several; a key matching the root must not turn the root into the edge CA).
    candidates = leaf_candidates(edge.certs)
    leaf = next((c for c in candidates if key is not None and key_matches(key, c)),
                candidates[0])
    pool = list(edge.certs) + list(trust_bundle.certs)
    chain = order_chain(pool, leaf)
    edge_ca = chain[0]

    # Key pairing.
    if key is None:
        add(Finding("error", "no-key", f"no private key for the {term}",
                    f"Choose the {term} private key file.", _label(edge_ca)))
    elif not key_matches(key, edge_ca):
        add(Finding("error", "key-mismatch",
                    f"the private key does not belong to the {term} certificate",
                    "Pick the key that was generated with this certificate "
                    "(iotedge check: certs-match-private-keys).", _label(edge_ca)))

    # Per-certificate rules.
    for i, cert in enumerate(chain):
        role = term if i == 0 else ("root CA" if is_self_issued(cert) else "intermediate CA")
        bc = basic_constraints(cert)
        if bc is None or not bc.ca:
            add(Finding("error", "not-ca", f"the {role} is not a CA (basicConstraints CA:FALSE)",
                        f"The {term} must itself be a CA: issue it with CA:TRUE.", _label(cert)))
        try:
            ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
            if not ku.key_cert_sign:
                add(Finding("error", "no-keycertsign",
                            f"the {role} may not sign certificates (keyUsage lacks keyCertSign)",
                            "Issue it with keyUsage keyCertSign.", _label(cert)))
        except x509.ExtensionNotFound:
            pass
        # CAs below this one: the chain part below it, plus what the runtime issues below the
        # edge CA (1.1: a workload CA).
        below = i + release.min_pathlen_above_edge_ca
        if bc is not None and bc.ca and bc.path_length is not None and bc.path_length < below:
            add(Finding("error", "pathlen",
                        f"the {role} has pathlen {bc.path_length} but {below} CA(s) must be "
                        f"issued below it on IoT Edge {release.key}",
                        ("On 1.1 the device CA issues a workload CA, so it needs no pathlen or "
                         "pathlen ≥ 1." if release.is_legacy and i == 0 else
                         "Issue it with a larger pathlen (or none)."), _label(cert)))
        findings.extend(_date_findings(cert, role, release, now, warn_days))
        add(_key_size_finding(cert, role))
        add(_sig_finding(cert, role))

    # Links.
    for child, parent in itertools.pairwise(chain):
        if child.issuer != parent.subject:
            add(Finding("error", "broken-link",
                        f"{_label(child)} is issued by {child.issuer.rfc4514_string()}, "
                        f"not by {_label(parent)}", "The files do not form one chain.",
                        _label(child)))
            continue
        try:
            child.verify_directly_issued_by(parent)
        except Exception:
            add(Finding("error", "broken-link",
                        f"the signature of {_label(child)} does not verify with the key of "
                        f"{_label(parent)}",
                        "The issuer certificate is not the one that signed it (same name, "
                        "different key?).", _label(child)))
        aki, ski = _aki(child), _ski(parent)
        if aki is not None and ski is not None and aki != ski:
            add(Finding("error", "broken-link",
                        f"the authority key identifier of {_label(child)} does not match the "
                        f"subject key identifier of {_label(parent)}",
                        "The chain mixes certificates of two CAs with the same name.",
                        _label(child)))

    # Anchoring: the trust bundle must contain the chain's root.
    top = chain[-1]
    bundle_der = {_der(c) for c in trust_bundle.certs}
    if not is_self_issued(top):
        issuer = issuer_label(top)
        add(Finding("error", "root-missing",
                    f"{issuer}, the issuer of {_label(top)}, is in neither file",
                    f"Add {issuer} to the {term} file, and its root CA to the trust bundle "
                    "(an intermediate goes in the full chain, the root in the bundle).",
                    _label(top)))
    elif not trust_bundle.certs:
        add(Finding("error", "empty-trust-bundle", "the trust bundle holds no certificate",
                    "Use the root CA certificate as the trust bundle."))
    elif _der(top) not in bundle_der:
        add(Finding("error", "root-not-in-trust-bundle",
                    f"the trust bundle does not contain the chain's root ({_label(top)})",
                    "Point trust_bundle_cert at this chain's root CA certificate.", _label(top)))

    # The edge CA file must carry its intermediates (modules receive it as their chain).
    edge_der = {_der(c) for c in edge.certs}
    missing = [c for c in chain[1:] if not is_self_issued(c) and _der(c) not in edge_der]
    if missing:
        add(Finding("error", "missing-intermediates",
                    f"the {term} file lacks its intermediate(s): "
                    + ", ".join(_label(c) for c in missing),
                    f"Use the full-chain file ({term}, then intermediates, then root).",
                    _label(edge_ca)))

    # Names.
    cn = common_name(edge_ca)
    if len(cn) > CN_MAX_LENGTH:
        add(Finding("error", "cn-too-long",
                    f"the {term} CN is {len(cn)} characters (at most {CN_MAX_LENGTH})",
                    "Choose a shorter name.", cn[:CN_MAX_LENGTH]))
    if hostname and cn.lower() == hostname.lower():
        add(Finding("error", "cn-equals-hostname",
                    f"the {term} CN equals the device hostname ({hostname})",
                    "Use a different CN, e.g. with the '.ca' suffix Microsoft's scripts add.",
                    cn))
    if len(chain) == 1 and is_self_issued(edge_ca):
        add(Finding("warning", "self-signed-edge-ca",
                    f"the {term} is self-signed (it is its own root)",
                    "Production chains have a root (and usually an intermediate) above it."))
    return ChainReport(tuple(chain), tuple(findings), key)


def check_files(
    cert_file: Material,
    key_file: Material,
    trust_bundle: Material,
    *,
    release: EdgeRelease,
    hostname: str | None = None,
    now: dt.datetime | None = None,
    warn_days: int | None = None,
) -> ChainReport:
    """``validate_chain`` for three loaded files (a PFX may hold cert and key together)."""
    keys: Sequence[PrivateKey] = list(key_file.keys) + list(cert_file.keys)
    leaves = leaf_candidates(cert_file.certs) if cert_file.certs else []
    key = next((k for k in keys for c in leaves if key_matches(k, c)),
               keys[0] if keys else None)
    return validate_chain(cert_file, key=key, trust_bundle=trust_bundle, release=release,
                          hostname=hostname, now=now, warn_days=warn_days)


def validate(
    material: Material,
    *,
    release: EdgeRelease,
    trust_bundle: Material | None = None,
    hostname: str | None = None,
    now: dt.datetime | None = None,
) -> ChainReport:
    """Validate everything in ``material`` (edge CA, chain, key; e.g. one dropped PFX).

    Without ``trust_bundle``, the self-signed root found in ``material`` is taken as the trust
    bundle (the wizard's "drop your files" path); a chain without a root is reported.
    """
    if trust_bundle is None:
        trust_bundle = Material(tuple(c for c in material.certs if is_self_issued(c)))
        edge_only = Material(tuple(c for c in material.certs if not is_self_issued(c))
                             or material.certs)
    else:
        edge_only = Material(material.certs)
    return check_files(edge_only, Material(keys=material.keys), trust_bundle, release=release,
                       hostname=hostname, now=now)
