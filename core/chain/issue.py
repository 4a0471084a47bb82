"""Production paths: an edge CA signed by the customer's own CA, or via a CSR to an external CA."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from core.chain.builder import BACKDATE, build_ca
from core.chain.demo import (
    IssuedEdgeCa,
    default_edge_days,
    edge_ca_common_name,
    pem,
    validity,
    write_edge_ca,
)
from core.chain.inspect import basic_constraints, common_name
from core.chain.keys import KeyType, PrivateKey, as_issuer_key, generate_key, private_key_pem
from core.chain.load import Material, load_file, read_file
from core.chain.order import is_self_issued, key_matches, order_chain
from core.chain.output import ChainFiles, edge_prefix, staged_output
from core.chain.validate import issuer_label, validate_chain
from core.errors import ChainError, UsageError
from core.progress import CancelToken, ProgressCallback, report
from core.versions import EdgeRelease

TRUST_BUNDLE_NAME = "trust-bundle.cert.pem"


def _check_issuer(ca: x509.Certificate, release: EdgeRelease, where: str) -> None:
    """The customer's CA must be a CA that may sign an edge CA (and what comes below it)."""
    bc = basic_constraints(ca)
    if bc is None or not bc.ca:
        raise ChainError("this certificate is not a CA", where=where,
                         hint="Use your root or intermediate CA certificate (CA:TRUE).")
    try:
        ku = ca.extensions.get_extension_for_class(x509.KeyUsage).value
        if not ku.key_cert_sign:
            raise ChainError("this CA may not sign certificates (no keyCertSign)", where=where,
                             hint="Use a CA certificate whose keyUsage includes keyCertSign.")
    except x509.ExtensionNotFound:
        pass
    needed = 1 + release.min_pathlen_above_edge_ca
    if bc.path_length is not None and bc.path_length < needed:
        raise ChainError(
            f"this CA has pathlen {bc.path_length}; an {release.ca_term} below it needs "
            f"pathlen ≥ {needed} on IoT Edge {release.key}",
            where=where,
            hint="Sign with a CA that allows sub-CAs (e.g. your root, or an intermediate "
                 "issued with a larger pathlen).",
        )
    now = dt.datetime.now(dt.UTC)
    if ca.not_valid_after_utc <= now:
        raise ChainError("this CA has expired", where=where, hint="Renew the CA first.")


def _root_and_chain(ca: x509.Certificate, extra: list[x509.Certificate], where: str
                    ) -> tuple[x509.Certificate, ...]:
    """The issuer chain from ``ca`` up to its root (``ca`` first)."""
    chain = order_chain([ca, *extra], ca)
    if not is_self_issued(chain[-1]):
        raise ChainError(
            f"{issuer_label(chain[-1])}, the issuer of {common_name(chain[-1]) or 'this CA'}, "
            "is missing",
            where=where,
            hint="Give the CA's chain up to the root with --ca-chain (intermediates and root).",
        )
    return tuple(chain)


def _refuse_errors(edge: IssuedEdgeCa, root: x509.Certificate, release: EdgeRelease,
                   where: str) -> None:
    """Run the full validation before anything is written; errors stop here."""
    report = validate_chain(Material((edge.cert, *edge.chain)), key=edge.key,
                            trust_bundle=Material((root,)), release=release)
    errors = [f for f in report.findings if f.severity == "error"]
    if errors:
        raise ChainError(
            f"the {release.ca_term} would not be usable on IoT Edge {release.key}: "
            + "; ".join(f"{f.message} [{f.code}]" for f in errors),
            where=where, hint=errors[0].hint,
        )


def _write(out_dir: Path, name_: str, edge: IssuedEdgeCa, root: x509.Certificate, *,
           force: bool, release: EdgeRelease, where: str,
           csr_pem: bytes | None = None, notices: tuple[str, ...] = ()) -> ChainFiles:
    _refuse_errors(edge, root, release, where)
    with staged_output(out_dir, force=force) as staged:
        paths = write_edge_ca(staged, name_, edge, pfx_password=None)
        bundle = staged.write(f"certs/{TRUST_BUNDLE_NAME}", pem(root))
        csr = None
        if csr_pem is not None:
            csr = staged.write(f"csr/{edge_prefix(name_)}.csr.pem", csr_pem)
    return ChainFiles(out_dir=out_dir.resolve(), trust_bundle=bundle, root_cert=bundle, csr=csr,
                      notices=notices, **paths)


def issue_edge_ca(
    *,
    ca_cert: Path,
    ca_key: Path,
    out_dir: Path,
    name: str,
    release: EdgeRelease,
    ca_chain: Path | None = None,
    ca_password: str | None = None,
    key_type: KeyType = KeyType.RSA_2048,
    days: int | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ChainFiles:
    """Sign a new edge CA with the customer's root or intermediate CA.

    Raises:
        ChainError: the CA cannot sign an edge CA (not a CA, pathlen, expired, key mismatch).
        InputError subclasses: unreadable files, password needed or wrong.
    """
    cn = edge_ca_common_name(name)
    ca_mat = load_file(ca_cert, ca_password)
    if not ca_mat.certs:
        raise UsageError("no certificate in the CA certificate file", where=str(ca_cert),
                         hint="Choose your CA's certificate (PEM, DER or PFX).")
    key_mat = load_file(ca_key, ca_password)
    keys = list(key_mat.keys) + list(ca_mat.keys)
    ca = next((c for c in ca_mat.certs for k in keys if key_matches(k, c)), None)
    if ca is None:
        raise ChainError("the CA key does not belong to the CA certificate", where=str(ca_key),
                         hint="Choose the private key of this CA certificate.")
    key = next(k for k in keys if key_matches(k, ca))
    _check_issuer(ca, release, str(ca_cert))
    extra = list(ca_mat.certs) + (list(load_file(ca_chain).certs) if ca_chain else [])
    chain = _root_and_chain(ca, [c for c in extra if c is not ca], str(ca_chain or ca_cert))
    if cancel:
        cancel.raise_if_cancelled()
    report(progress, "keys", 0, 1, f"generating a {key_type.value} key")
    edge_key = generate_key(key_type)
    not_before, edge_end, _ = validity(dt.datetime.now(dt.UTC),
                                       default_edge_days(release) if days is None else days,
                                       release)
    edge = build_ca(common_name=cn, public_key=edge_key.public_key(),
                    issuer_key=as_issuer_key(key), issuer_cert=ca, not_before=not_before,
                    not_after=edge_end,
                    path_length=release.edge_ca_pathlen,
                    hash_algorithm=key_type.hash_algorithm(), edge_ca=True)
    report(progress, "keys", 1, 1)
    notices: tuple[str, ...] = ()
    if edge_end > ca.not_valid_after_utc:
        asked = default_edge_days(release) if days is None else days
        notices = (f"the {release.ca_term} was shortened to end with its issuer on "
                   f"{ca.not_valid_after_utc:%Y-%m-%d} (asked: {asked} days, got "
                   f"{(ca.not_valid_after_utc - not_before - BACKDATE).days} days); a "
                   "certificate never outlives the CA that signed it",)
    return _write(out_dir, name, IssuedEdgeCa(edge_key, edge, chain), chain[-1], force=force,
                  release=release, where=str(ca_cert), notices=notices)


def make_csr(*, out_dir: Path, name: str, release: EdgeRelease,
             key_type: KeyType = KeyType.RSA_2048, force: bool = False) -> tuple[Path, Path]:
    """A new edge CA key and a CSR for an external CA. Returns (csr path, key path).

    The CSR asks for CA:TRUE with the release's pathlen and keyUsage keyCertSign; the external
    CA decides what it signs, and ``import_signed`` checks the result.
    """
    cn = edge_ca_common_name(name)
    key = generate_key(key_type)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .add_extension(x509.BasicConstraints(ca=True, path_length=release.edge_ca_pathlen),
                       critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False,
                                     False), critical=True)
        .sign(key, key_type.hash_algorithm())
    )
    prefix = edge_prefix(name)
    with staged_output(out_dir, force=force) as staged:
        csr_path = staged.write(f"csr/{prefix}.csr.pem",
                                csr.public_bytes(serialization.Encoding.PEM))
        key_path = staged.write(f"private/{prefix}.key.pem", private_key_pem(key), private=True)
    return csr_path, key_path


def import_signed(
    *,
    cert: Path,
    key: Path,
    out_dir: Path,
    name: str,
    release: EdgeRelease,
    chain: Path | None = None,
    key_password: str | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> ChainFiles:
    """Bring an externally signed edge CA back and assemble the full chain and trust bundle.

    ``out_dir`` may be the folder ``make_csr`` wrote (its key and CSR are kept).

    Raises:
        ChainError: key does not match, root missing, or the result is not a usable edge CA.
    """
    edge_ca_common_name(name)
    cert_mat = load_file(cert)
    key_mat = load_file(key, key_password)
    if not key_mat.keys:
        raise UsageError("no private key in the key file", where=str(key),
                         hint="Choose the key that `edgecert chain csr` wrote.")
    k: PrivateKey = key_mat.keys[0]
    signed = next((c for c in cert_mat.certs if key_matches(k, c)), None)
    if signed is None:
        raise ChainError("the signed certificate does not match the key", where=str(cert),
                         hint="Import the certificate the CA issued for this CSR.")
    bc = basic_constraints(signed)
    if bc is None or not bc.ca:
        raise ChainError(f"the CA signed it without CA:TRUE; it cannot be an "
                         f"{release.ca_term}", where=str(cert),
                         hint="Ask the CA to sign with a sub-CA profile (CA:TRUE, keyCertSign).")
    others = [c for c in cert_mat.certs if c is not signed]
    if chain:
        others += list(load_file(chain).certs)
    full = order_chain([signed, *others], signed)
    if not is_self_issued(full[-1]):
        raise ChainError(f"{issuer_label(full[-1])}, the issuer of "
                         f"{common_name(full[-1]) or 'the signed certificate'}, is missing",
                         where=str(chain or cert),
                         hint="Give the issuing CA's chain up to the root with --chain.")
    report(progress, "checked", 1, 1)
    if cancel:
        cancel.raise_if_cancelled()
    csr_file = out_dir / "csr" / f"{edge_prefix(name)}.csr.pem"
    csr_pem = read_file(csr_file, "the CSR") if csr_file.is_file() else None
    ours = out_dir.is_dir() and {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*")
                                 if p.is_file()} <= {
        f"csr/{edge_prefix(name)}.csr.pem", f"private/{edge_prefix(name)}.key.pem"}
    return _write(out_dir, name, IssuedEdgeCa(k, signed, tuple(full[1:])), full[-1],
                  force=force or bool(ours), csr_pem=csr_pem,
                  release=release, where=str(cert))



