"""Where edgecert may write on a device: one rule for the planner, the steps file and the bundle.

A device path is accepted when it is

* absolute and normalised: no empty, ``.`` or ``..`` component (so no ``//`` and no trailing
  separator), on Windows a drive path with backslashes;
* free of control characters (C0 with tab, newline and NUL, DEL, C1);
* under the release's own folders (``/var/aziot`` and ``/etc/aziot`` from 1.2 on; on 1.1
  ``/var/aziot`` and ``/etc/iotedge``; EFLOW as Linux; 1.1 Windows containers
  ``C:\\ProgramData\\iotedge``), or under a folder the user named explicitly
  (``--device-folder``), which is itself checked and never a system folder;
* never inside the runtime's own configuration or state (``/etc/aziot/keyd``,
  ``/var/lib/aziot``, ``hsm`` …), nor the configuration file itself.

``check_install_path`` is what the planner asks for every file it installs; ``check_plan_paths``
applies the same rule again to every path of a finished plan when its steps file is rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PureWindowsPath

from core.errors import DevicePathError
from core.plan import Plan
from core.versions import EdgeRelease, Platform, release

WINDOWS_ROOT = "C:\\ProgramData\\iotedge"
_ROOTS_12 = ("/var/aziot", "/etc/aziot")
_ROOTS_11 = ("/var/aziot", "/etc/iotedge")
# The runtime's own configuration and state: edgecert installs nothing in there.
_RESERVED_12 = ("/etc/aziot/certd", "/etc/aziot/keyd", "/etc/aziot/identityd",
                "/etc/aziot/edged", "/etc/aziot/tpmd", "/var/lib/aziot")
_RESERVED_11 = ("/var/lib/iotedge",)
_RESERVED_WINDOWS = (WINDOWS_ROOT + "\\hsm",)
# Where the plan's "clear stale state" steps may delete (facts §8).
_STATE_12 = ("/var/lib/aziot/certd/certs", "/var/lib/aziot/keyd/keys")
_STATE_11 = ("/var/lib/iotedge/hsm/certs", "/var/lib/iotedge/hsm/cert_keys")
_STATE_WINDOWS = (WINDOWS_ROOT + "\\hsm\\certs", WINDOWS_ROOT + "\\hsm\\cert_keys")

# Folders never accepted as --device-folder: shared with the system or other software, virtual,
# emptied at boot, or a home (EFLOW's 0750 home breaks readability, facts §10 #12).
_SYSTEM_FOLDERS = frozenset({
    "/var/lib", "/var/log", "/var/cache", "/var/spool", "/var/backups", "/var/mail",
    "/var/tmp", "/var/opt", "/var/local", "/var/www", "/usr/local", "/srv/www",
})
_NEVER_UNDER = ("/proc", "/sys", "/dev", "/run", "/tmp", "/boot", "/usr", "/bin", "/sbin",
                "/lib", "/lib32", "/lib64", "/libx32", "/var/run", "/var/lock", "/home",
                "/root", "/var/backups/edgecert")
# Direct children of these belong to packages (/etc/ssh, /var/lib/docker): one level deeper only.
_PACKAGE_PARENTS = ("/etc", "/var/lib")
_WINDOWS_NEVER_UNDER = ("C:\\Windows", "C:\\Program Files", "C:\\Program Files (x86)",
                        "C:\\Users")


# Folders whose owner or mode edgecert never changes: the files' folder is always their own.
_SHARED_FOLDERS = frozenset({"/", "/etc", "/var", "/var/lib", "/usr", "/usr/lib", "/home",
                             "/root", "/tmp", "/opt", "/srv", "/etc/aziot", "/etc/iotedge",
                             "/var/lib/aziot", "/var/lib/iotedge", "/run", "/var/run"})


def check_own_folder(directory: str) -> str:
    """``directory`` when edgecert may set its owner and mode (the folder of installed files).

    Raises:
        DevicePathError: a shared system folder such as ``/etc`` or ``/etc/aziot``.
    """
    if directory in _SHARED_FOLDERS:
        raise DevicePathError(
            f"{directory} is a system directory; edgecert will not change its owner or mode",
            hint="Put the certificates in their own directory, e.g. /var/aziot/certs and "
                 "/var/aziot/secrets.")
    return directory


def _control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _shown(path: str) -> str:
    return repr(path)  # escapes tabs, newlines and other control characters


def _windows(platform: Platform) -> bool:
    return platform == "windows"


def _under(path: str, folder: str, *, windows: bool = False) -> bool:
    """``path`` is ``folder`` or inside it (component-wise, case-insensitive on Windows)."""
    sep = "\\" if windows else "/"
    if windows:
        path, folder = path.lower(), folder.lower()
    return path == folder or path.startswith(folder.rstrip(sep) + sep)


def check_syntax(path: str, *, platform: Platform, what: str) -> str:
    """``path`` when it is an absolute, normalised device path without control characters.

    Raises:
        DevicePathError: naming ``what`` (e.g. ``the edge-ca-cert path``) and the problem.
    """
    example = (WINDOWS_ROOT + "\\certs\\edge-ca.pem") if _windows(platform) else \
        "/var/aziot/certs/edge-ca.pem"
    hint = f"Give an absolute, normalised device path, e.g. {example}."
    if any(_control(c) for c in path):
        raise DevicePathError(
            f"{what} {_shown(path)} contains a control character (tab, line break, NUL, …)",
            hint=hint)
    if _windows(platform):
        win = PureWindowsPath(path)
        if not (win.drive and len(win.drive) == 2 and win.root == "\\"):
            raise DevicePathError(f"{what} {_shown(path)} is not an absolute drive path",
                                  hint=hint)
        parts = path[3:].split("\\") if len(path) > 3 else []
        if "/" in path or any(p in ("", ".", "..") for p in parts):
            raise DevicePathError(
                f"{what} {_shown(path)} is not normalised (empty, '.' or '..' component, or "
                "a forward slash)", hint=hint)
        return path
    if not path.startswith("/"):
        raise DevicePathError(f"{what} {_shown(path)} is relative", hint=hint)
    parts = path[1:].split("/")
    if path != "/" and any(p in ("", ".", "..") for p in parts):
        bad = ".." if ".." in parts else ("." if "." in parts else "//")
        raise DevicePathError(
            f"{what} {_shown(path)} is not normalised (it has a {bad!r} component)", hint=hint)
    return path


def check_device_folder(folder: str, *, platform: Platform) -> str:
    """A folder named with ``--device-folder``: a normalised absolute path, no system folder.

    Raises:
        DevicePathError: the folder is malformed, a system folder, inside a volatile, virtual
            or home folder, or overlaps the runtime's own state.
    """
    check_syntax(folder, platform=platform, what="the device folder")
    hint = ("Name a folder of its own for the certificates, e.g. /opt/edge-certs or "
            "/var/aziot/certs (edgecert sets its owner and mode).")
    if _windows(platform):
        if folder.count("\\") < 2 or any(_under(folder, f, windows=True)
                                         for f in _WINDOWS_NEVER_UNDER):
            raise DevicePathError(f"{_shown(folder)} is a system folder; edgecert will not "
                                  "put certificates there or change its owner",
                                  hint=f"Name a folder of its own, e.g. {WINDOWS_ROOT}\\certs.")
        return folder
    parent = folder.rsplit("/", 1)[0] or "/"
    system = (folder == "/" or parent == "/" or folder in _SYSTEM_FOLDERS
              or parent in _PACKAGE_PARENTS
              or any(_under(folder, f) for f in _NEVER_UNDER))
    if system:
        raise DevicePathError(
            f"{_shown(folder)} is a system folder (or inside one); edgecert will not put "
            "certificates there or change its owner or mode", hint=hint)
    for reserved in (*_RESERVED_12, *_RESERVED_11, "/etc/aziot/config.toml",
                     "/etc/iotedge/config.yaml"):
        if _under(folder, reserved) or _under(reserved, folder):
            raise DevicePathError(
                f"{_shown(folder)} overlaps the IoT Edge runtime's own files ({reserved})",
                hint=hint)
    return folder


def install_roots(rel: EdgeRelease, platform: Platform) -> tuple[str, ...]:
    """The release's own folders for certificate and key files on ``platform``."""
    if _windows(platform):
        return (WINDOWS_ROOT,)
    return _ROOTS_11 if rel.is_legacy else _ROOTS_12


def _reserved(rel: EdgeRelease, platform: Platform) -> tuple[str, ...]:
    if _windows(platform):
        return (*_RESERVED_WINDOWS, rel.config_path_windows or rel.config_path)
    return (*(_RESERVED_11 if rel.is_legacy else _RESERVED_12), rel.config_path)


def _describe_roots(roots: Iterable[str]) -> str:
    return ", ".join(roots)


def check_install_path(path: str, *, rel: EdgeRelease, platform: Platform,
                       folders: Sequence[str] = (), what: str) -> str:
    """``path`` when edgecert may install a file (or create a folder) there.

    Args:
        path: the device path.
        rel: the device's IoT Edge release (its folders).
        platform: ``linux``, ``eflow`` or ``windows``.
        folders: folders the user named explicitly (already checked by
            ``check_device_folder``).
        what: what the path is, for the message (``the trust-bundle path``).

    Raises:
        DevicePathError: the path is malformed, outside the allowed folders, or inside the
            runtime's own configuration or state.
    """
    check_syntax(path, platform=platform, what=what)
    win = _windows(platform)
    for reserved in _reserved(rel, platform):
        if _under(path, reserved, windows=win):
            raise DevicePathError(
                f"{what} {_shown(path)} is inside the IoT Edge runtime's own files "
                f"({reserved})",
                hint=f"Put the certificates in their own folder under "
                     f"{install_roots(rel, platform)[0]}.")
    roots = install_roots(rel, platform)
    if any(_under(path, r, windows=win) for r in (*roots, *folders)):
        return path
    raise DevicePathError(
        f"{what} {_shown(path)} is outside the folders of {rel.label} "
        f"({_describe_roots(roots)})" + (f" and the named folders ({_describe_roots(folders)})"
                                         if folders else ""),
        hint=f"Put the files under {roots[0]}, or name their folder explicitly with "
             "--device-folder DIR (a folder of its own, not a system folder).")


def check_plan_paths(plan: Plan) -> None:
    """Every device path of a Linux or EFLOW plan, by the rule of ``check_install_path``.

    Installed files, created folders and readability checks must be under the release's
    folders or the plan's named folders; the configuration must be the release's file (or
    under a named folder); stale-state deletions must be in the runtime's state folders.

    Raises:
        DevicePathError: the first path that breaks the rule.
    """
    rel = release(plan.release)
    platform: Platform = plan.platform
    folders = tuple(check_device_folder(f, platform=platform) for f in plan.device_folders)
    for d in plan.dirs:
        check_install_path(d.path, rel=rel, platform=platform, folders=folders,
                           what="the plan's directory")
        check_own_folder(d.path)
    for f in plan.files:
        check_install_path(f.path, rel=rel, platform=platform, folders=folders,
                           what=f"the plan's {f.role} path")
    for r in plan.readable:
        check_install_path(r.path, rel=rel, platform=platform, folders=folders,
                           what="the plan's readable path")
    cfg = plan.config.path
    check_syntax(cfg, platform=platform, what="the plan's config path")
    expected = rel.config_path_windows if _windows(platform) and rel.config_path_windows \
        else rel.config_path
    if cfg != expected and not any(_under(cfg, f, windows=_windows(platform)) for f in folders):
        raise DevicePathError(f"the plan's config path {_shown(cfg)} is not {expected}",
                              hint="Build the plan again with edgecert (the release decides "
                                   "the configuration file).")
    state = _STATE_WINDOWS if _windows(platform) else (_STATE_11 if rel.is_legacy
                                                       else _STATE_12)
    for p in (*plan.clear.files, *plan.clear.dir_contents):
        check_syntax(p, platform=platform, what="the plan's clear path")
        if not any(_under(p, s, windows=_windows(platform)) for s in (*state, *folders)):
            raise DevicePathError(
                f"the plan's clear path {_shown(p)} is outside the runtime's state folders "
                f"({_describe_roots(state)})",
                hint="Build the plan again with edgecert; it only clears the edge CA's state.")


@dataclass(frozen=True)
class DevicePaths:
    """Where the three files go on the device."""

    edge_ca_cert: str
    edge_ca_key: str
    trust_bundle: str


def default_paths(release: EdgeRelease, platform: Platform) -> DevicePaths:
    """The standard device paths for the edge CA cert, key and the trust bundle."""
    if platform == "windows":
        return DevicePaths(f"{WINDOWS_ROOT}\\certs\\edge-ca.pem",
                           f"{WINDOWS_ROOT}\\secrets\\edge-ca.key.pem",
                           f"{WINDOWS_ROOT}\\certs\\trust-bundle.pem")
    return DevicePaths("/var/aziot/certs/edge-ca.pem", "/var/aziot/secrets/edge-ca.key.pem",
                       "/var/aziot/certs/trust-bundle.pem")


def paths_in_folders(release: EdgeRelease, platform: Platform, cert_dir: str | None = None,
                     key_dir: str | None = None) -> DevicePaths:
    """The standard file names in the chosen folders (edge CA cert and trust bundle in
    ``cert_dir``, the key in ``key_dir``); a folder not chosen keeps the standard one.

    Raises:
        DevicePathError: a chosen folder is not a folder edgecert may use (``check_device_folder``).
    """
    standard = default_paths(release, platform)
    sep = "\\" if _windows(platform) else "/"

    def place(default: str, folder: str | None) -> str:
        if not folder:
            return default
        return check_device_folder(folder, platform=platform) + sep + default.rsplit(sep, 1)[-1]

    return DevicePaths(place(standard.edge_ca_cert, cert_dir),
                       place(standard.edge_ca_key, key_dir),
                       place(standard.trust_bundle, cert_dir))
