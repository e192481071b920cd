"""Architecture rules that keep the core fast and Qt-free."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_gui_package_imports_qt() -> None:
    offenders = []
    for base in ("studio", "envs"):
        for path in (ROOT / base).rglob("*.py"):
            if "gui" in path.relative_to(ROOT).parts:
                continue
            if {"PySide6", "PyQt5", "PyQt6", "qtpy"} & _imports(path):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"Qt imported outside studio/gui/: {offenders}"


def test_cli_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys, studio.cli\n"
        "heavy = [m for m in ('litellm', 'torch', 'lancedb', 'PySide6', 'gi', 'pyautogui', 'llama_cpp',"
        " 'sentence_transformers') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "", f"`studio --help` path imports heavy modules: {out.stdout.strip()}"


def test_model_output_is_never_executed() -> None:
    offenders = []
    for base in ("studio", "envs"):
        for path in (ROOT / base).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"exec", "eval"}:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], f"exec/eval found: {offenders}"


def test_ruff_clean() -> None:
    import shutil

    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    out = subprocess.run(
        [ruff, "check", "studio", "envs", "tests", "benchmarks"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stdout[-3000:]


# ---------------------------------------------------------------------------------------------- layers
#
# envs <- core (config, errors, records, status, workspace, llm) <- pipeline <- export, serve <- commands, gui
# (ARCHITECTURE.md draws it). A module may import its own layer and the layers below it, never above.

LAYERS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("envs",)),
    (1, ("studio.config", "studio.errors", "studio.records", "studio.status", "studio.workspace", "studio.llm")),
    (2, ("studio.pipeline",)),
    (3, ("studio.export", "studio.serve")),
    (4, ("studio.commands", "studio.cli", "studio.gui", "studio.__main__")),
)
#: Private names of third-party libraries we rely on, each with why (a reviewer can see the list grow).
THIRD_PARTY_PRIVATE = {
    # pyautogui binds its X display at import; the input driver points it at the sandbox's display.
    ("envs.input", "_pyautogui_x11"),
    ("envs.input", "_display"),
    # os._exit is the documented way for a forked child (the sandbox's namespace builder) to end.
    ("envs.sandbox.nsinit", "_exit"),
    # LanceDB's import builds ~500 pydantic validators; their defaults are switched to deferred while it loads.
    ("studio.workspace.lancedb_import", "_config"),
    ("studio.workspace.lancedb_import", "_internal"),
    # llama-cpp-python keeps only the last logits unless a model is made with logits_all (n_ctx x vocabulary
    # floats); scoring a reply's tokens asks its context for all rows of one small batch (0.3.x internals).
    ("studio.llm.yes_no", "_ctx"),
    ("studio.llm.yes_no", "_batch"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for base in ("studio", "envs"):
        for path in (ROOT / base).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks (imports there exist for annotations only)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def _resolve(name: str, modules: dict[str, Path]) -> str:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def _import_graph(*, runtime_only: bool) -> dict[str, set[str]]:
    """module -> our modules it imports (lazy imports in functions included)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree) if runtime_only else set()
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                deps.update(_resolve(a.name, modules) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    deps.add(_resolve(full if full in modules else node.module, modules))
        deps.discard("")
        deps.discard(mod)
        graph[mod] = deps
    return graph


def _layer(mod: str) -> int:
    for level, prefixes in LAYERS:
        if any(mod == p or mod.startswith(p + ".") for p in prefixes):
            return level
    if mod == "studio":
        return 1
    raise AssertionError(f"{mod} is in no layer: add it to LAYERS in tests/unit/test_architecture.py")


def test_envs_imports_nothing_from_studio() -> None:
    graph = _import_graph(runtime_only=False)
    offenders = sorted(
        f"{m} -> {d}" for m, deps in graph.items() if m.startswith("envs") for d in deps if d.startswith("studio")
    )
    assert offenders == [], f"envs must not import studio (give envs its own types): {offenders}"


def test_layers_point_one_way() -> None:
    graph = _import_graph(runtime_only=False)
    offenders = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps if _layer(d) > _layer(m))
    assert offenders == [], f"imports that point up the layers (envs <- core <- pipeline <- commands/gui): {offenders}"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles() -> None:
    cycles = _cycles(_import_graph(runtime_only=True))
    assert cycles == [], f"import cycles (lazy imports included; type-only imports excluded): {cycles}"


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _defined_private(tree: ast.AST) -> set[str]:
    """Private names a module defines: functions, classes, assignments and attributes it sets or declares."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_no_private_names_across_modules() -> None:
    offenders = []
    for mod, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = _defined_private(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for a in node.names:
                    if (
                        a.name.startswith("_")
                        and not a.name.startswith("__")
                        and (mod, a.name) not in THIRD_PARTY_PRIVATE
                    ):
                        offenders.append(f"{mod}:{node.lineno}: from {node.module} import {a.name}")
                private = [p for p in node.module.split(".") if p.startswith("_") and not p.startswith("__")]
                if private and (mod, private[-1]) not in THIRD_PARTY_PRIVATE:
                    offenders.append(f"{mod}:{node.lineno}: from {node.module} import ...")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                value = node.value
                if isinstance(value, ast.Name) and value.id in ("self", "cls"):
                    continue
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
                    continue
                if node.attr in own or (mod, node.attr) in THIRD_PARTY_PRIVATE:
                    continue
                offenders.append(f"{mod}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == [], f"private names used across modules (make them public or move the code): {offenders}"


def test_test_files_have_unique_basenames() -> None:
    """tests/ has no __init__.py files: pytest refuses to collect two test modules with one basename."""
    seen: dict[str, str] = {}
    dupes = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        rel = str(path.relative_to(ROOT))
        if path.name in seen:
            dupes.append(f"{seen[path.name]} and {rel}")
        seen[path.name] = rel
    assert dupes == [], f"rename one of each pair: {dupes}"
