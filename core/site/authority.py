"""The site CA: loaded once, checked against every edge CA it will issue, and issuing them.

Each device gets its own edge CA (CN ``NAME.ca``, distinct per device) signed by the site CA,
in memory; the bytes go through the deploy's pre-flight like any imported edge CA.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from core.chain.builder import build_ca
from core.chain.demo import edge_ca_common_name, pem, validity
from core.chain.inspect import basic_constraints, common_name
from core.chain.keys import PrivateKey, as_issuer_key, generate_key, private_key_pem
from core.chain.load import load_file, read_password_file
from core.chain.order import is_self_issued, key_matches, order_chain
from core.errors import SiteError
from core.site.model import SiteCa, SiteDevice
from core.versions import EdgeRelease, release


@dataclass(frozen=True)
class Authority:
    """The loaded site CA: its certificate and key, the chain up to the root, the trust bundle."""

    cert: x509.Certificate
    key: PrivateKey = field(repr=False)
    chain: tuple[x509.Certificate, ...]
    """From the CA (first) up to the root (last)."""
    trust_bundle: bytes

    @property
    def root(self) -> x509.Certificate:
        return self.chain[-1]

    def issued(self, cert: x509.Certificate) -> bool:
        """Whether ``cert`` was signed by this CA (the signature, not only the name)."""
        if cert.issuer != self.cert.subject:
            return False
        try:
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


def load_authority(ca: SiteCa) -> Authority:
    """Load the site CA's files.

    Raises:
        SiteError, InputError subclasses: naming the file.
    """
    password = read_password_file(ca.password_file)
    cert_mat = load_file(ca.cert, password)
    key_mat = load_file(ca.key, password)
    keys = [*key_mat.keys, *cert_mat.keys]
    cert = next((c for c in cert_mat.certs for k in keys if key_matches(k, c)), None)
    if cert is None:
        raise SiteError("the [ca] key does not belong to the [ca] certificate",
                        where=str(ca.key), hint="Name the private key of the issuing CA.")
    key = next(k for k in keys if key_matches(k, cert))
    extra = [c for c in cert_mat.certs if c is not cert]
    if ca.chain is not None:
        extra += list(load_file(ca.chain).certs)
    bundle_mat = load_file(ca.trust_bundle)
    if bundle_mat.keys:
        raise SiteError("the trust bundle holds a private key", where=str(ca.trust_bundle),
                        hint="Give the root CA certificate only: the trust bundle is public.")
    if not bundle_mat.certs:
        raise SiteError("the trust bundle holds no certificate", where=str(ca.trust_bundle),
                        hint="Give the root CA certificate that devices trust.")
    chain = tuple(order_chain([cert, *extra, *bundle_mat.certs], cert))
    if not is_self_issued(chain[-1]):
        raise SiteError(f"the root CA above {common_name(chain[-1]) or 'the site CA'} is "
                        "missing", where=str(ca.chain or ca.cert),
                        hint="Give the certificates up to the root with [ca] chain, and the "
                             "root as trust_bundle.")
    root_der = chain[-1].public_bytes(serialization.Encoding.DER)
    if all(c.public_bytes(serialization.Encoding.DER) != root_der for c in bundle_mat.certs):
        raise SiteError("the trust bundle does not hold the root of the site CA "
                        f"({common_name(chain[-1])})", where=str(ca.trust_bundle),
                        hint="Devices must trust the root that issued their edge CAs.")
    return Authority(cert, key, chain, b"".join(pem(c) for c in bundle_mat.certs))


def check_site_ca(ca: SiteCa, devices: Sequence[SiteDevice], *, where: str,
                  now: dt.datetime | None = None) -> Authority:
    """The site CA must sign CAs and outlive every edge CA it would issue.

    Raises:
        SiteError: naming the CA file, or the device whose edge CA it would not cover.
    """
    auth = load_authority(ca)
    now = now or dt.datetime.now(dt.UTC)
    cert, at = auth.cert, str(ca.cert)
    bc = basic_constraints(cert)
    if bc is None or not bc.ca:
        raise SiteError("the site CA is not a CA (no CA:TRUE), so it cannot sign edge CAs",
                        where=at, hint="Use your root or intermediate CA certificate.")
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.key_cert_sign:
            raise SiteError("the site CA may not sign certificates (no keyCertSign)",
                            where=at, hint="Use a CA whose keyUsage includes keyCertSign.")
    except x509.ExtensionNotFound:
        pass
    if cert.not_valid_after_utc <= now:
        raise SiteError(f"the site CA expired on {cert.not_valid_after_utc:%Y-%m-%d}",
                        where=at, hint="Renew the CA first.")
    for d in devices:
        rel = release("1.5" if d.iotedge == "auto" else d.iotedge)
        needed = 1 + rel.min_pathlen_above_edge_ca
        if bc.path_length is not None and bc.path_length < needed:
            raise SiteError(
                f"the site CA has pathlen {bc.path_length}; an {rel.ca_term} below it needs "
                f"pathlen ≥ {needed} on IoT Edge {rel.key}", where=d.where,
                hint="Sign with a CA that allows sub-CAs (your root, or an intermediate with a "
                     "larger pathlen).")
        end = now + dt.timedelta(days=d.edge_ca_days)
        if end > cert.not_valid_after_utc:
            raise SiteError(
                f"the site CA ends {cert.not_valid_after_utc:%Y-%m-%d}, before the "
                f"{d.edge_ca_days}-day edge CA of {d.name} would ({end:%Y-%m-%d})",
                where=d.where, hint="Give the device fewer edge_ca_days, or renew the site CA "
                "first (an edge CA never outlives its issuer).")
    return auth


@dataclass(frozen=True)
class EdgeCaFiles:
    """A device's new edge CA as the bytes a deploy installs."""

    cert_chain: bytes
    """Edge CA first, then the issuers up to the root."""
    key: bytes = field(repr=False)
    serial: int
    not_after: dt.datetime


def issue_for(auth: Authority, device: SiteDevice, rel: EdgeRelease,
              now: dt.datetime | None = None) -> EdgeCaFiles:
    """A new edge CA for ``device`` (CN ``NAME.ca``), signed by the site CA, in memory.

    Raises:
        UsageError: the name does not make a valid CN, or the lifetime exceeds the release's
            date limit.
    """
    now = now or dt.datetime.now(dt.UTC)
    cn = edge_ca_common_name(device.name)
    key = generate_key(device.key_type)
    not_before, end, _ = validity(now, device.edge_ca_days, rel)
    cert = build_ca(common_name=cn, public_key=key.public_key(),
                    issuer_key=as_issuer_key(auth.key), issuer_cert=auth.cert,
                    not_before=not_before, not_after=end, path_length=rel.edge_ca_pathlen,
                    hash_algorithm=device.key_type.hash_algorithm(), edge_ca=True)
    chain = pem(cert) + b"".join(pem(c) for c in auth.chain)
    return EdgeCaFiles(chain, private_key_pem(key), cert.serial_number,
                       cert.not_valid_after_utc)
