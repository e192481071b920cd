"""App profiles: bundled ones load, bad files give errors that name the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from envs.apps import APPS_DIR_ENV, AppProfile, list_profiles, load_profile, load_profile_file
from studio.errors import AppNotInstalledError, ConfigError

GOOD = """
name = "{name}"
description = "test app"
apt_package = "{pkg}"
argv = ["{exe}"]
wm_class = "Test"
"""


def test_bundled_profiles_load() -> None:
    names = list_profiles()
    for name in (
        "xterm",
        "mousepad",
        "galculator",
        "gnumeric",
        "chromium",
        "libreoffice-calc",
        "libreoffice-writer",
        "libreoffice-impress",
    ):
        assert name in names
        p = load_profile(name)
        assert p.name == name and p.argv and p.wm_class and p.apt_package
        assert any(d.startswith("man:") for d in p.docs)
    assert "LibreOffice" in load_profile("gnumeric").description  # the reason for the choice is written down


def test_unknown_profile_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="no app profile named 'nope'.*mousepad"):
        load_profile("nope")


def test_user_dir_adds_and_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "myapp.toml").write_text(GOOD.format(name="myapp", pkg="myapp", exe="true"))
    (tmp_path / "xterm.toml").write_text(GOOD.format(name="xterm", pkg="xterm", exe="true"))
    monkeypatch.setenv(APPS_DIR_ENV, str(tmp_path))
    assert "myapp" in list_profiles()
    assert load_profile("myapp").argv == ["true"]
    assert load_profile("xterm").description == "test app"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (GOOD.format(name="bad", pkg="x", exe="x") + 'colour = "red"\n', r"colour: Extra inputs"),
        ('name = "bad"\ndescription = "d"\n', r"apt_package: Field required"),
        ('name = "bad"\nthis is not toml', r"not valid TOML"),
        (GOOD.format(name="bad", pkg="x", exe="x").replace('["x"]', "[]"), r"argv"),
        (GOOD.format(name="bad", pkg="x", exe="x") + 'docs = ["relative/path"]\n', r"docs.*man:"),
        (GOOD.format(name="bad", pkg="x", exe="x") + 'docs = ["assets:../../etc"]\n', r"inside the bundled assets"),
        (GOOD.format(name="other", pkg="x", exe="x"), r"must match the file name"),
        (GOOD.format(name="bad", pkg="x", exe="x") + '[seed_files]\n"../../etc/x" = "y"\n', r"seed_files.*'\.\.'"),
        (GOOD.format(name="bad", pkg="x", exe="x") + '[seed_files]\n"/etc/x" = "y"\n', r"seed_files.*relative"),
    ],
)
def test_bad_profiles_name_file_and_field(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_profile_file(path)
    assert str(path) in str(info.value)


def test_missing_program_names_apt_package() -> None:
    p = AppProfile(name="ghost", description="d", apt_package="ghost-pkg", argv=["no-such-binary-xyz"], wm_class="G")
    assert p.executable() is None
    with pytest.raises(AppNotInstalledError, match="apt-get install ghost-pkg"):
        p.check_installed()


def test_doc_paths_resolve_existing_locations(tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text("hi")
    p = AppProfile(
        name="d",
        description="d",
        apt_package="d",
        argv=["true"],
        wm_class="D",
        docs=[str(doc), str(tmp_path / "missing.md")],
    )
    assert p.doc_paths() == [doc]


def test_seed_command_passes_content_as_arguments() -> None:
    profile = load_profile("libreoffice-calc")
    cmd = profile.seed_command()
    assert cmd is not None and cmd[:2] == ["sh", "-c"]
    rel = ".config/libreoffice/4/user/registrymodifications.xcu"
    assert cmd[4:6] == [rel, profile.seed_files[rel]]  # data, never part of the script
    assert "$(" not in profile.seed_files[rel]
    assert load_profile("xterm").seed_command() is None
