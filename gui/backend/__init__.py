"""The wizard's calls into core: WizardState → core values → core functions → view values.

Every function here is synchronous and thread-agnostic; pages run them through
``gui.workers.run_job``. Nothing here decides a domain question: each answer comes from core.
Heavy core modules (cryptography, paramiko) are imported inside the functions so the window
appears before they load. One module per page area; this package re-exports them.
"""

from gui.backend.chain import (
    ChainOutcome,
    ChainRequest,
    chain_request,
    demo_chain,
    demo_key,
    import_files,
    import_signed,
    issue_from_ca,
    make_csr,
    revalidate,
)
from gui.backend.common import release_label, warning_days
from gui.backend.deploy import (
    DEPLOY_OPTIONS,
    PHASES,
    SummaryRequest,
    deploy,
    describe_deploy,
    export_bundle,
    step_phase,
    summarize,
    summary_request,
)
from gui.backend.plan import (
    PlanRequest,
    Preview,
    describe_preview,
    make_preview,
    plan_request,
    preview_warnings,
)
from gui.backend.settings import (
    SettingsRequest,
    cert_settings,
    check_device_settings,
    device_file_paths,
    settings_request,
)
from gui.backend.target import (
    EFLOW_USER,
    ConfigCopy,
    DeviceRead,
    TargetRequest,
    config_copy_certs,
    describe_device,
    detect_eflow_address,
    device_release,
    open_target,
    read_config_copy,
    read_device,
    target_label,
    target_request,
    unprovisioned,
    version_not_detected,
)

__all__ = [
    "DEPLOY_OPTIONS",
    "EFLOW_USER",
    "PHASES",
    "ChainOutcome",
    "ChainRequest",
    "ConfigCopy",
    "DeviceRead",
    "PlanRequest",
    "Preview",
    "SettingsRequest",
    "SummaryRequest",
    "TargetRequest",
    "cert_settings",
    "chain_request",
    "check_device_settings",
    "config_copy_certs",
    "demo_chain",
    "demo_key",
    "deploy",
    "describe_deploy",
    "describe_device",
    "describe_preview",
    "detect_eflow_address",
    "device_file_paths",
    "device_release",
    "export_bundle",
    "import_files",
    "import_signed",
    "issue_from_ca",
    "make_csr",
    "make_preview",
    "open_target",
    "plan_request",
    "preview_warnings",
    "read_config_copy",
    "read_device",
    "release_label",
    "revalidate",
    "settings_request",
    "step_phase",
    "summarize",
    "summary_request",
    "target_label",
    "target_request",
    "unprovisioned",
    "version_not_detected",
    "warning_days",
]
