"""A Ray cluster that holds sandboxes: connect to it (or start one on loopback) and check every node first.

A node offers sandboxes by declaring a custom resource, ``ray start --address HEAD:6379
--resources='{"sandbox": 4}'`` (the name is ``[executor] sandbox_resource``). Before any sandbox is placed,
:func:`check_nodes` runs :func:`probe_node` pinned to each such node; the probe reports the node's studio version
and a fingerprint of its code, the system binaries a sandbox needs, and whether a sandbox can be built there. A node
whose studio differs from the driver's or that misses something is refused, and the message names it (host, IP
and node id) and says how to fix it. ``studio doctor --ray ADDRESS`` prints the same reports.

Ray is an optional dependency (``pip install 'learn-by-interact-studio[ray]'``; ``make setup`` installs it); this
module imports it only inside functions.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from envs.sandbox.isolation import SANDBOX_BINARIES
from studio.errors import ClusterError

#: Binaries a sandbox needs on a node -> the Debian package that has it (``studio doctor`` checks these too).
NODE_BINARIES = SANDBOX_BINARIES
#: Object store of a Ray started by the studio on this machine (screenshots pass through it, briefly).
LOCAL_OBJECT_STORE_BYTES = 200 * 1024 * 1024
PROBE_TIMEOUT_S = 60.0
#: Set to "0" before Ray is imported, a Ray started on this machine listens on 127.0.0.1 only.
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: Ray runs worker processes at nice 15; a sandbox (Xvfb, the app, the settle checks) needs normal priority or
#: a busy node starves it. Set to "0" for a Ray started here; ``ray start`` on a node should get it too.
NICENESS_ENV = "RAY_worker_niceness"
_ROOT = Path(__file__).resolve().parents[3]


@dataclass
class NodeReport:
    """What :func:`probe_node` found on one node, and why the node is refused (``problems``; empty = fit)."""

    node_id: str
    ip: str
    sandboxes: int
    host: str = ""
    version: str = ""
    fingerprint: str = ""
    missing: list[str] = field(default_factory=list)  # "Xvfb (apt-get install xvfb)", "cannot build a sandbox: ..."
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """How messages name the node: ``host (ip, node 1a2b3c4d)``."""
        return f"{self.host or '?'} ({self.ip}, node {self.node_id[:8]})"

    @property
    def ok(self) -> bool:
        return not self.problems


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A short hash of this installation's code (``studio/``, ``envs/``: sources, app profiles, prompts)."""
    h = hashlib.blake2b(digest_size=8)
    for base in ("studio", "envs"):
        for path in sorted((_ROOT / base).rglob("*")):
            if path.suffix in (".py", ".toml", ".md", ".json", ".txt") and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(_ROOT)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def probe_node() -> dict[str, Any]:
    """Runs ON a node (as a Ray task pinned to it): what a sandbox there would need and which studio it has."""
    import studio

    missing = [f"{b} (apt-get install {pkg})" for b, pkg in NODE_BINARIES.items() if shutil.which(b) is None]
    if not missing:
        from envs.sandbox.isolation import probe

        why = probe()
        if why is not None:
            missing.append(f"cannot build a sandbox: {why}")
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "version": studio.__version__,
        "fingerprint": code_fingerprint(),
        "missing": missing,
    }


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`ClusterError` that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ClusterError(
            "Ray is not installed: pip install 'learn-by-interact-studio[ray]' "
            f"(or run `make setup`, which installs it) ({exc})"
        ) from exc
    return ray


def connect(address: str = "", *, sandboxes: int = 1, resource: str = "sandbox") -> bool:
    """Join the Ray cluster at ``address``, or start a one-node Ray on loopback when ``address`` is empty.

    A Ray started here declares ``{resource: sandboxes}``, binds to 127.0.0.1, has no dashboard and a
    200 MB object store. Returns True when this call connected (the caller then calls :func:`disconnect`),
    False when this process was already connected.

    Raises:
        ClusterError: Ray is missing or the cluster cannot be reached (says how to start one).
    """
    host, port = _host_port(address)
    if not address or host in ("127.0.0.1", "localhost"):
        # Ray binds a Ray it starts to the loopback address (and keeps 127.0.0.1 as given instead of swapping in
        # this machine's network address) only when it believes clusters are off (its knob for laptops); every
        # process it starts inherits this, so nothing listens beyond 127.0.0.1.
        os.environ.setdefault(LOOPBACK_ENV, "0")
        os.environ.setdefault(NICENESS_ENV, "0")
    ray = import_ray()
    if ray.is_initialized():
        return False
    if port is not None and not _listening(host, port):  # ray.init would retry for minutes
        raise ClusterError(
            f"nothing answers at {address}: start the Ray head there (`ray start --head --port "
            f"{port}`) or pass the address `ray start --head` printed"
        )
    common: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        if address:
            ray.init(address=address, **common)
        else:
            ray.init(
                num_cpus=1,
                resources={resource: max(1, sandboxes)},
                _node_ip_address="127.0.0.1",
                object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                **common,
            )
    except Exception as exc:  # ConnectionError, RuntimeError, ValueError from ray.init
        where = f"the Ray cluster at {address!r}" if address else "a local Ray"
        raise ClusterError(
            f"cannot connect to {where}: {type(exc).__name__}: {exc}. Start the head with "
            "`ray start --head --port 6379` and each worker node with `ray start --address "
            "HEAD:6379 --resources='{\"sandbox\": N}'`, then pass --ray HEAD:6379"
        ) from exc
    return True


def _host_port(address: str) -> tuple[str, int | None]:
    """``"10.0.0.1:6379"`` / ``"ray://h:10001"`` -> (host, port); ``""`` / ``"auto"`` -> ("", None)."""
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return "", None
    return host, int(port)


def _listening(host: str, port: int, timeout: float = 5.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def disconnect() -> None:
    """Leave the cluster (shuts down a Ray this process started)."""
    ray = import_ray()
    if ray.is_initialized():
        ray.shutdown()


def sandbox_nodes(resource: str = "sandbox") -> list[NodeReport]:
    """Alive nodes that declare ``resource`` (not yet probed)."""
    ray = import_ray()
    out = []
    for n in ray.nodes():
        count = int(n.get("Resources", {}).get(resource, 0))
        if n.get("Alive") and count >= 1:
            out.append(
                NodeReport(
                    node_id=n["NodeID"],
                    ip=n.get("NodeManagerAddress", "?"),
                    sandboxes=count,
                    host=n.get("NodeManagerHostname", ""),
                )
            )
    return out


def judge_node(report: NodeReport, found: dict[str, Any], *, version: str, fingerprint: str) -> NodeReport:
    """Fill ``report`` from a probe's answer and list its problems against the driver's version/fingerprint."""
    report.host = str(found.get("host") or report.host)
    report.version = str(found.get("version", ""))
    report.fingerprint = str(found.get("fingerprint", ""))
    report.missing = [str(m) for m in found.get("missing", [])]
    if report.version != version:
        report.problems.append(
            f"studio {report.version or '?'} there, {version} here: install the same version on every node"
        )
    elif report.fingerprint != fingerprint:
        report.problems.append(
            f"its studio code differs from this one (fingerprint {report.fingerprint} there, "
            f"{fingerprint} here): check out the same commit on every node"
        )
    report.problems.extend(f"missing {m}" for m in report.missing)
    return report


def check_nodes(resource: str = "sandbox", *, timeout: float = PROBE_TIMEOUT_S) -> list[NodeReport]:
    """Probe every node that declares ``resource``; a report with ``problems`` is a refused node.

    Raises:
        ClusterError: no alive node declares ``resource``.
    """
    import studio

    ray = import_ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = sandbox_nodes(resource)
    if not nodes:
        raise ClusterError(
            f"no node of the Ray cluster declares the '{resource}' resource: start each worker "
            f"with `ray start --address HEAD:6379 --resources='{{\"{resource}\": N}}'` "
            "(N = sandboxes it holds)"
        )
    probe = ray.remote(probe_node)
    refs = {
        n.node_id: probe.options(
            num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n.node_id, soft=False)
        ).remote()
        for n in nodes
    }
    version, fingerprint = studio.__version__, code_fingerprint()
    ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout)
    ready_set = set(ready)
    for n in nodes:
        ref = refs[n.node_id]
        if ref not in ready_set:
            ray.cancel(ref, force=True)
            n.problems.append(f"its check did not answer within {timeout:.0f} s")
            continue
        try:
            judge_node(n, ray.get(ref), version=version, fingerprint=fingerprint)
        except Exception as exc:  # the studio is not importable there, or the probe crashed
            n.problems.append(
                f"the studio check failed there ({type(exc).__name__}: "
                f"{str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else ''}); "
                "run the project's setup on that node"
            )
    return nodes


def refusal_message(refused: list[NodeReport], resource: str = "sandbox") -> str:
    """One line per refused node: its name and what is wrong there."""
    return "\n".join(f"node {n.label} refused: {'; '.join(n.problems)}" for n in refused)


def fit_nodes(reports: list[NodeReport], resource: str = "sandbox") -> list[NodeReport]:
    """The fit nodes of ``reports``.

    Raises:
        ClusterError: every node was refused (the message names each one and why).
    """
    fit = [n for n in reports if n.ok]
    if not fit:
        raise ClusterError("no node of the Ray cluster can hold sandboxes:\n" + refusal_message(reports, resource))
    return fit
