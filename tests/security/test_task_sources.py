"""Escape attempts through task files: a stranger's ``download``/``cloud_file`` sources must not read host files.

Local sources may only come from the task's folder, the bundled assets or the offline mirror (after symlinks are
resolved); mirrored URLs map to hashed names inside the mirror whatever ``..`` they hold.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envs.mirror import Mirror
from envs.task_setup import SetupContext, resolve_local_source
from studio.errors import OfflineError, TaskError


@pytest.fixture
def ctx(tmp_path: Path) -> SetupContext:
    task_dir = tmp_path / "tasks"
    (task_dir / "files").mkdir(parents=True)
    (task_dir / "files" / "ok.txt").write_text("ok")
    (tmp_path / "assets").mkdir()
    return SetupContext(base_dir=task_dir, assets_dir=tmp_path / "assets", mirror=Mirror(tmp_path / "mirror"))


def test_inside_sources_resolve(ctx: SetupContext) -> None:
    assert resolve_local_source("files/ok.txt", ctx).read_text() == "ok"
    assert resolve_local_source(f"file://{ctx.base_dir}/files/ok.txt", ctx).read_text() == "ok"


@pytest.mark.parametrize(
    "source",
    ["/etc/passwd", "file:///etc/passwd", "../../../../../../etc/passwd", "files/../../../../../../../etc/passwd"],
)
def test_host_files_are_refused(ctx: SetupContext, source: str) -> None:
    with pytest.raises(TaskError, match="outside the task's folder"):
        resolve_local_source(source, ctx)


def test_symlink_out_of_the_task_folder_is_refused(ctx: SetupContext, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    os.symlink(secret, ctx.base_dir / "files" / "link.txt")
    with pytest.raises(TaskError, match="outside"):
        resolve_local_source("files/link.txt", ctx)


def test_mirror_urls_with_dotdot_stay_inside_the_mirror(ctx: SetupContext, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("outside")
    for url in ("https://x/../../outside.txt", "http://../../../../etc/passwd", "https://h/%2e%2e/%2e%2e/outside.txt"):
        path = ctx.mirror.path_for(url)
        assert path.resolve().is_relative_to(ctx.mirror.root.resolve())
        with pytest.raises(OfflineError):
            resolve_local_source(url, ctx)


def test_unknown_schemes_are_refused(ctx: SetupContext) -> None:
    for url in ("smb://host/share/x", "data:text/plain,hi", "javascript:alert(1)"):
        with pytest.raises(OfflineError, match="unsupported scheme"):
            resolve_local_source(url, ctx)
