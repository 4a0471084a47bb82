"""Helpers shared by the GUI tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DialogLog:
    """What the modal dialogs were asked, and the scripted answers they gave."""

    errors: list[BaseException] = field(default_factory=list)
    host_keys: list[tuple[str, str, str]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    passwords: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    trust_host_key: bool = True
    answer_yes: bool = True
    password_answers: list[str | None] = field(default_factory=list)
