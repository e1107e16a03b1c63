"""The package's import graph: no cycle anywhere (imports inside functions
included), and the two generation rooms never import each other.

Every module under python/qmsum_fast is parsed with ast (not imported), every
import statement in it is collected wherever it stands, and each is resolved
to the package modules it names: ``from . import x`` names the module ``x``
where there is one, ``from .m import name`` the module ``m``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "qmsum_fast"
ROOT = Path(__file__).resolve().parent.parent / "python" / PACKAGE
ROOMS = (f"{PACKAGE}.gen.local", f"{PACKAGE}.gen.served")


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (and the
    compiled ``_core``, by its .pyi stub)."""
    modules = {}
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.pyi")]):
        parts = [PACKAGE, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _base(module: str, path: Path, level: int) -> str:
    """The package a relative import of ``level`` dots starts from."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return package


def _resolve(name: str, known: set[str]) -> str | None:
    """The package module ``name`` is, or the nearest package module above it."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``module`` imports, anywhere in its file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _base(module, path, node.level)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            # `from pkg import name`: the submodule pkg.name where there is one, else pkg itself.
            targets = [f"{target}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] != PACKAGE:
                continue
            resolved = _resolve(target, known)
            if resolved is not None and resolved != module:
                found.add(resolved)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = module_files(root)
    known = set(modules)
    return {module: imports_of(module, path, known) for module, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as its modules in order (the first repeated at
    the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_generation_rooms_do_not_import_each_other():
    graph = import_graph()
    crossing = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        for room, other in (ROOMS, ROOMS[::-1])
        if _within(module, room) and _within(target, other)
    ]
    assert not crossing, "; ".join(crossing)


def test_the_floor_does_not_import_a_room():
    """The shared floor (gen's own modules) is what the rooms build on: it
    reaches an engine only through the run loop's choice of one."""
    graph = import_graph()
    floor = [m for m in graph if _within(m, f"{PACKAGE}.gen") and not any(_within(m, room) for room in ROOMS)]
    allowed = {f"{PACKAGE}.gen.run"}  # the run loop picks the engine
    crossing = [
        f"{module} imports {target}"
        for module in floor
        if module not in allowed
        for target in graph[module]
        if any(_within(target, room) for room in ROOMS)
    ]
    assert not crossing, "; ".join(crossing)


def test_no_private_name_is_imported_across_files():
    """A name with a leading underscore is its file's own; a private module
    (``_core``, ``commands/_options``) may be imported, its private names not."""
    modules = module_files()
    found = []
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = _base(module, path, node.level) if node.level else ""
            target = ".".join(part for part in (base, node.module) if part)
            private = [
                alias.name
                for alias in node.names
                if alias.name.startswith("_")
                and not alias.name.startswith("__")
                and f"{target}.{alias.name}" not in modules
            ]
            if private:
                found.append(f"{module} imports {', '.join(private)} from {target}")
    assert not found, "; ".join(found)


# --- the checker itself, on small made-up packages --------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_through_an_import_inside_a_function_is_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from .b import thing\n",
            "b.py": "def f():\n    from . import a\n",
        },
    )
    assert find_cycle(import_graph(root)) == [f"{PACKAGE}.a", f"{PACKAGE}.b", f"{PACKAGE}.a"]


def test_relative_imports_resolve_to_modules(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "x.py": "",
            "gen/__init__.py": "",
            "gen/local/__init__.py": "",
            "gen/local/m.py": "from ...x import y\nfrom .. import config\nfrom . import n\nimport qmsum_fast.x\n",
            "gen/local/n.py": "",
            "gen/config.py": "",
        },
    )
    graph = import_graph(root)
    assert graph[f"{PACKAGE}.gen.local.m"] == {
        f"{PACKAGE}.x",
        f"{PACKAGE}.gen.config",
        f"{PACKAGE}.gen.local.n",
    }
    assert find_cycle(graph) is None
