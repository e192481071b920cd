"""The offline file mirror: ``download`` URLs and ``cloud_file`` gold files resolve to local copies.

OSWorld task files fetch their inputs over http (268 of the 369 test_all files). The sandbox has no network,
so every http(s) URL is looked up in a mirror directory instead::

    <mirror>/<sha256(url)[:2]>/<sha256(url)>        the file's bytes
    <mirror>/urls.tsv                                 sha256 <TAB> url, one line per stored file (for people)

The name is a hash of the URL, so a URL (however many ``..`` it holds) can never name a file outside the
mirror. ``studio task mirror`` fills the mirror when a network exists and, offline, lists what is missing;
``studio task mirror --put URL FILE`` stores a file you made or fetched yourself.

The mirror directory is ``$STUDIO_MIRROR`` if set, else ``~/.cache/studio/mirror``; commands take ``--mirror``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from envs.errors import OfflineError, TaskError

MIRROR_ENV = "STUDIO_MIRROR"
NETWORK_SCHEMES = ("http", "https", "ftp")
#: Largest file ``fetch`` stores (OSWorld's biggest inputs are videos of a few hundred MB).
MAX_BYTES = 1 << 30


def default_mirror_dir() -> Path:
    """``$STUDIO_MIRROR`` or ``~/.cache/studio/mirror``."""
    env = os.environ.get(MIRROR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "studio" / "mirror"


def is_network_url(url: str) -> bool:
    """True for http(s)/ftp URLs (the ones the mirror serves)."""
    return urlparse(url).scheme.lower() in NETWORK_SCHEMES


class Mirror:
    """A directory of files keyed by the URL they were downloaded from."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_mirror_dir()

    def path_for(self, url: str) -> Path:
        """Where ``url``'s bytes live (whether or not they are there yet)."""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.root / digest[:2] / digest

    def has(self, url: str) -> bool:
        """True when the mirror holds ``url``."""
        return self.path_for(url).is_file()

    def resolve(self, url: str) -> Path:
        """The local copy of ``url``.

        Raises:
            OfflineError: the mirror does not hold it (the message says how to add it).
        """
        path = self.path_for(url)
        if path.is_file():
            return path
        raise OfflineError(
            f"{url} is not in the offline mirror {self.root}; fetch it with `studio task mirror <task files>` "
            f"where a network exists, or store a copy with `studio task mirror --put {url} <file>`"
        )

    def put(self, url: str, source: Path | str) -> Path:
        """Copy the local file ``source`` into the mirror as the content of ``url``; return its mirror path."""
        src = Path(source)
        if not src.is_file():
            raise TaskError(f"cannot mirror {url}: {src} is not a file")
        dest = self.path_for(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".put-")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._note(url, dest)
        return dest

    def fetch(self, url: str, *, timeout: float = 60.0) -> Path:
        """Download ``url`` into the mirror (atomically; at most :data:`MAX_BYTES`); return its path.

        Raises:
            OfflineError: no network, or the server refused (the message has the reason).
        """
        if not is_network_url(url):
            raise TaskError(f"only http(s)/ftp URLs are mirrored, not {url!r}")
        dest = self.path_for(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".fetch-")
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "learn-by-interact-studio/mirror"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:  # noqa: S310
                total = 0
                while chunk := resp.read(1 << 16):
                    total += len(chunk)
                    if total > MAX_BYTES:
                        raise OfflineError(f"{url} is larger than {MAX_BYTES} bytes; not mirrored")
                    out.write(chunk)
            os.replace(tmp, dest)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise OfflineError(f"cannot download {url}: {getattr(exc, 'reason', exc)}") from exc
        finally:
            Path(tmp).unlink(missing_ok=True)
        self._note(url, dest)
        return dest

    def _note(self, url: str, dest: Path) -> None:
        line = f"{dest.name}\t{url}\n"
        index = self.root / "urls.tsv"
        try:
            if line in index.read_text(encoding="utf-8"):
                return
        except OSError:
            pass
        with index.open("a", encoding="utf-8") as f:
            f.write(line)
