"""Pure parts of the site commands: hostnames in config.toml, exit codes, --only, tables."""

from __future__ import annotations

import pytest

from core.config.toml_edit import our_template
from core.errors import ConfigParseError, UsageError
from core.site.hostnames import with_hostnames
from core.site.render import text_table
from core.site.run import DeviceResult, exit_code

CONFIG = ('# my device\r\nhostname = "old"   # set by hand\r\n\r\n'
          '[provisioning]\r\nsource = "manual"\r\n')


def test_hostname_changed_in_place_keeping_comment_and_line_endings() -> None:
    out = with_hostnames(CONFIG, hostname="edge-01.plant", parent_hostname=None)
    assert out == CONFIG.replace('"old"', '"edge-01.plant"')


def test_parent_hostname_added_after_hostname_and_removed_again() -> None:
    child = with_hostnames(CONFIG, hostname=None, parent_hostname="gw.plant")
    assert child == CONFIG.replace("# set by hand\r\n", '# set by hand\r\n'
                                   'parent_hostname = "gw.plant"\r\n')
    assert with_hostnames(child, hostname=None, parent_hostname=None) == CONFIG


def test_template_gets_the_keys_after_their_commented_examples() -> None:
    template = our_template()
    out = with_hostnames(template, hostname="gw.plant", parent_hostname="top.plant")
    lines = out.splitlines()
    assert lines[lines.index('# hostname = "my-device"') + 1] == 'hostname = "gw.plant"'
    assert lines[lines.index('# parent_hostname = "my-parent-device"') + 1] == \
        'parent_hostname = "top.plant"'
    assert len(lines) == len(template.splitlines()) + 2


def test_unchanged_text_is_returned_as_is() -> None:
    assert with_hostnames(CONFIG, hostname="old", parent_hostname=None) is CONFIG


def test_not_toml_is_a_parse_error_with_line() -> None:
    with pytest.raises(ConfigParseError) as info:
        with_hostnames("a = 1\nb = \n", hostname="x", parent_hostname=None, where="cfg")
    assert (info.value.where or "").startswith("cfg:2")


@pytest.mark.parametrize(("outcomes", "code"), [
    (("deployed", "unchanged"), 0),
    (("deployed", "rolled_back"), 1),
    (("deployed", "skipped"), 1),
    (("unreachable",), 1),
    (("rolled_back", "rollback_failed", "deployed"), 3),
])
def test_exit_codes(outcomes: tuple[str, ...], code: int) -> None:
    results = [DeviceResult(f"d{i}", "h", o) for i, o in enumerate(outcomes)]  # type: ignore[arg-type]
    assert exit_code(results) == code


def test_only_names_must_be_devices_of_the_site(tmp_path: object) -> None:
    from pathlib import Path

    from core.site.model import Site, SiteCa, SiteDevice
    from core.site.run import select

    p = Path("/site.toml")
    site = Site(p, "s", SiteCa(p, p, p), (
        SiteDevice("child", "h2", "s:9", parent="gw"),
        SiteDevice("gw", "h1", "s:1", hostname="gw.local"),
        SiteDevice("other", "h3", "s:5")), p)
    assert [d.name for d in select(site, None)] == ["gw", "child", "other"]
    assert [d.name for d in select(site, ["other,child"])] == ["child", "other"]
    with pytest.raises(UsageError, match="not devices of the site: nope"):
        select(site, ["gw", "nope"])


def test_colour_only_when_asked() -> None:
    rows = [["a", "expired"], ["b", "ok"]]
    plain = text_table(["device", "health"], rows, colour_column=1, colour=False)
    assert "\x1b[" not in plain
    coloured = text_table(["device", "health"], rows, colour_column=1, colour=True)
    assert "\x1b[31mexpired" in coloured and "\x1b[32mok" in coloured
