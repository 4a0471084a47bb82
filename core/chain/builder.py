"""Certificate builders: one common builder, each certificate kind a small delta on top."""

from __future__ import annotations

import datetime as dt
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
    CertificatePublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SignHash = hashes.SHA256 | hashes.SHA384

# Clock skew allowance: certificates start a little in the past so a device whose clock is a few
# minutes behind does not reject them as "not yet valid".
BACKDATE = dt.timedelta(minutes=5)
# CN length limit of X.509 (ub-common-name) and of certd, which truncates to 64 (facts §2.2).
CN_MAX_LENGTH = 64


def name(common_name: str) -> x509.Name:
    """A CN-only subject, as Microsoft's scripts make them."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def random_serial() -> int:
    """A positive 159-bit random serial (RFC 5280: at most 20 octets)."""
    return secrets.randbits(159) | 1


def _common(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificatePublicKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(random_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_key_usage(*, crl_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,  # sign certs
        crl_sign=crl_sign,  # revocation lists (root and intermediate only)
        encipher_only=False,
        decipher_only=False,
    )


def _aki(issuer_cert: x509.Certificate | None,
         issuer_public_key: CertificateIssuerPublicKeyTypes) -> x509.AuthorityKeyIdentifier:
    if issuer_cert is not None:
        try:
            ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        except x509.ExtensionNotFound:
            pass
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key)


def build_ca(
    *,
    common_name: str,
    public_key: CertificatePublicKeyTypes,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    issuer_cert: x509.Certificate | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    path_length: int | None,
    hash_algorithm: SignHash,
    edge_ca: bool = False,
) -> x509.Certificate:
    """A CA certificate; self-signed when ``issuer_cert`` is None.

    The edge CA gets keyUsage ``digitalSignature, keyCertSign`` as in Microsoft's production
    guidance (facts §2.3); root and intermediate add ``cRLSign`` like ``openssl_root_ca.cnf``.
    """
    subject = name(common_name)
    issuer = issuer_cert.subject if issuer_cert is not None else subject
    if issuer_cert is not None and not_after > issuer_cert.not_valid_after_utc:
        not_after = issuer_cert.not_valid_after_utc  # a child never outlives its issuer
    builder = (
        _common(subject, issuer, public_key, not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_key_usage(crl_sign=not edge_ca), critical=True)
        .add_extension(_aki(issuer_cert, issuer_key.public_key()), critical=False)
    )
    return builder.sign(issuer_key, hash_algorithm)


def build_server_cert(
    *,
    hostname: str,
    public_key: CertificatePublicKeyTypes,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    issuer_cert: x509.Certificate,
    not_before: dt.datetime,
    not_after: dt.datetime,
    hash_algorithm: SignHash,
) -> x509.Certificate:
    """A TLS server certificate the way the runtime issues edgeHub's: CN and SAN = hostname."""
    import ipaddress

    san: x509.GeneralName
    try:
        san = x509.IPAddress(ipaddress.ip_address(hostname))
    except ValueError:
        san = x509.DNSName(hostname)
    if not_after > issuer_cert.not_valid_after_utc:
        not_after = issuer_cert.not_valid_after_utc
    builder = (
        _common(name(hostname), issuer_cert.subject, public_key, not_before, not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(_aki(issuer_cert, issuer_key.public_key()), critical=False)
    )
    return builder.sign(issuer_key, hash_algorithm)


def sign_csr_as_edge_ca(
    csr: x509.CertificateSigningRequest,
    *,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    issuer_cert: x509.Certificate,
    not_before: dt.datetime,
    not_after: dt.datetime,
    path_length: int | None,
    hash_algorithm: SignHash,
) -> x509.Certificate:
    """Sign a CSR as an edge CA (used by tests standing in for an external CA)."""
    cn = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return build_ca(
        common_name=str(cn[0].value) if cn else "edge CA",
        public_key=csr.public_key(),
        issuer_key=issuer_key,
        issuer_cert=issuer_cert,
        not_before=not_before,
        not_after=not_after,
        path_length=path_length,
        hash_algorithm=hash_algorithm,
        edge_ca=True,
    )
