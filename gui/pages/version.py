"""Page 1: which IoT Edge release and platform the device runs."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
)

from core.versions import DEFAULT_RELEASE, EdgeRelease, catalog
from gui.pages.base import Page, note
from gui.shared import Shared

# (catalog key, platform, button text); the catalog says what each choice means.
CHOICES: tuple[tuple[str, str, str], ...] = (
    ("1.1", "linux", "IoT Edge 1.1 LTS, &Linux containers"),
    ("1.1", "windows", "IoT Edge 1.1 LTS, &Windows containers"),
    ("1.2", "linux", "IoT Edge 1.&2"),
    ("1.3", "linux", "IoT Edge 1.&3"),
    ("1.4", "linux", "IoT Edge 1.&4 LTS"),
    ("1.5", "linux", "IoT Edge 1.&5 LTS (support ended)"),
    ("1.6", "linux", "IoT Edge 1.&6 LTS or newer"),
    ("1.6", "eflow", "&EFLOW (IoT Edge for Linux on Windows), 1.2 or newer"),
    ("1.1", "eflow", "EFLOW 1.1 L&TS"),
)


def explain(rel: EdgeRelease, platform: str) -> str:
    """What changes for this release, in the catalog's own terms (rich text)."""
    lines = [f"<b>{rel.label}</b>" + (" on EFLOW" if platform == "eflow" else "")]
    if rel.support_ended:
        lines.append(f"<b>Support ended {rel.support_ended}</b>: Microsoft no longer services "
                     "this release; plan the upgrade to the current LTS.")
    config = rel.config_path_windows if platform == "windows" and rel.config_path_windows \
        else rel.config_path
    lines.append(f"Configuration file: <code>{config}</code> ({rel.config_format.upper()}).")
    pathlen = ("no path length constraint (the device inserts a workload CA below it)"
               if rel.edge_ca_pathlen is None else f"pathlen {rel.edge_ca_pathlen}")
    lines.append(f"The certificate the device signs with is called the <b>{rel.ca_term}</b>; "
                 f"a generated one gets {pathlen}.")
    lines.append(f"Expiry warning from {rel.expiry_warning_days} days before the end.")
    if rel.not_after_limit is not None:
        lines.append(f"Every certificate of the chain must expire before "
                     f"{rel.not_after_limit:%Y-%m-%d} (32-bit time limit of this release).")
    lines.append("Automatic renewal of the edge CA is available." if rel.auto_renew
                 else "No automatic renewal: plan to replace the chain before it expires.")
    lines.append("Applied with " + ("a service restart." if rel.apply == "restart"
                                    else "<code>iotedge config apply</code>."))
    if rel.notice:
        lines.append(rel.notice)
    return "<br>".join(lines)


class VersionPage(Page):
    def __init__(self, shared: Shared) -> None:
        super().__init__(
            shared,
            "IoT Edge version and platform",
            "Choose what the device runs. Unsure? Run <code>iotedge version</code> on it, or "
            "pick the newest and let the Target page read the device.",
        )
        self.setObjectName("versionPage")
        self.group = QButtonGroup(self)
        box = QGroupBox("&Release")
        box_layout = QVBoxLayout(box)
        self.buttons: list[QRadioButton] = []
        known = catalog()
        for i, (key, platform, text) in enumerate(CHOICES):
            if key not in known:
                continue
            button = QRadioButton(text)
            button.setObjectName(f"version_{key}_{platform}")
            button.setToolTip(known[key].label)
            self.group.addButton(button, i)
            box_layout.addWidget(button)
            self.buttons.append(button)
        self.explanation = QLabel()
        self.explanation.setObjectName("versionExplanation")
        self.explanation.setWordWrap(True)
        # Rich text is detected from the markup (Qt's enum namespace is not loaded this early).
        right = QVBoxLayout()
        right.addWidget(self.explanation)
        right.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(box, 1)
        row.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(note(
            "Between versions the configuration file, the name of the CA, the path length the "
            "chain needs and the renewal options change; edgecert applies the right rules."))
        layout.addStretch(1)
        self.group.idToggled.connect(self._toggled)

    def initializePage(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        for i, (key, platform, _text) in enumerate(CHOICES):
            if key == self.state.release_key and platform == self.state.platform:
                button = self.group.button(i)
                if button is not None:
                    button.setChecked(True)
                    break
        else:
            default = next(i for i, (key, platform, _text) in enumerate(CHOICES)
                           if (key, platform) == (DEFAULT_RELEASE, "linux"))
            self.group.button(default).setChecked(True)
        self._show()

    def _toggled(self, button_id: int, checked: bool) -> None:
        if not checked:
            return
        key, platform, _text = CHOICES[button_id]
        if (key, platform) != (self.state.release_key, self.state.platform):
            self.state.release_key = key
            self.state.platform = platform  # type: ignore[assignment]
            self.state.forget_results_after_target()
            self.state.assume_release = False
            # Findings depend on the release (pathlen, 2038 limit): validate again.
            self.shared.release_changed.emit()
        self._show()

    def _show(self) -> None:
        rel = self.state.release
        self.explanation.setText(explain(rel, self.state.platform))
