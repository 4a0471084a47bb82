"""The certificate chain: generate, issue, request, import, validate and inspect.

Public API (used by the CLI, the wizard and the deploy):
- ``generate_demo_chain`` (root → intermediate → edge CA like Microsoft's test scripts),
  ``issue_edge_ca`` (signed by the customer's CA), ``make_csr`` / ``import_signed``;
- ``load_file`` / ``load_bytes`` / ``load_material`` (PEM, DER, PKCS#12, PKCS#1/#8/SEC1)
  → ``Material``;
- ``validate`` / ``validate_chain`` / ``check_files`` → ``ChainReport`` with ``Finding``s;
- ``inspect_certificate`` → ``CertSummary``; ``pfx_bytes`` / ``export_pfx`` for PKCS#12.
"""

from core.chain.demo import (
    DEFAULT_EDGE_DAYS,
    default_edge_days,
    edge_ca_common_name,
    generate_demo_chain,
)
from core.chain.inspect import CertSummary, format_summary, inspect_certificate
from core.chain.issue import TRUST_BUNDLE_NAME, import_signed, issue_edge_ca, make_csr
from core.chain.keys import KeyType, generate_key, private_key_pem
from core.chain.load import Material, load_bytes, load_file, load_files, load_material
from core.chain.order import key_matches, order_chain
from core.chain.output import ChainFiles, edge_prefix
from core.chain.pkcs12 import export_pfx, pfx_bytes
from core.chain.validate import ChainReport, Finding, check_files, validate, validate_chain

__all__ = [
    "DEFAULT_EDGE_DAYS",
    "TRUST_BUNDLE_NAME",
    "CertSummary",
    "ChainFiles",
    "ChainReport",
    "Finding",
    "KeyType",
    "Material",
    "check_files",
    "default_edge_days",
    "edge_ca_common_name",
    "edge_prefix",
    "export_pfx",
    "format_summary",
    "generate_demo_chain",
    "generate_key",
    "import_signed",
    "inspect_certificate",
    "issue_edge_ca",
    "key_matches",
    "load_bytes",
    "load_file",
    "load_files",
    "load_material",
    "make_csr",
    "order_chain",
    "pfx_bytes",
    "private_key_pem",
    "validate",
    "validate_chain",
]
