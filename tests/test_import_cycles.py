"""No two modules of `mediastation` and `burners` import each other, directly or round a circle.

Every module is read with `ast` (nothing is imported), and every import statement in it counts,
whether at module level or inside a function: a function-level import runs as soon as the function
does, and a circle closed that way only fails later, in the middle of a job. Rules:

- `import a.b.c` and `from a.b import c` (c a submodule) are an edge to `a.b.c`; `from a.b import
  name` (name not a submodule) is an edge to `a.b` (its `__init__`); relative imports likewise.
- Imports under `if TYPE_CHECKING:` do not count: they are never executed, so they cannot leave a
  module half-initialised; they exist for the type checker only. (The `else:` branch does count.)
- An edge goes to the module named, not to the packages above it. Importing `a.b.c` also runs
  `a/__init__` and `a/b/__init__`, but those always run first, before any module of the package, so
  they are not an ordering between modules; and a package's `__init__` that imports its own
  submodules (a package's face) would otherwise close a circle with every one of them. Where a
  module really needs a package's `__init__` it names the package (`from a.b import name`), and
  that edge counts.
- `importlib.import_module` and `__import__` are not followed: what they load is computed at run
  time.

The graph's strongly connected components of more than one module are the circles; the test
fails listing each, with the import statements (file:line) that close it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mediastation", "burners")

Edges = dict[str, dict[str, list[str]]]  # importer -> imported -> ["path:line", ...]


def project_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the packages (a package by its __init__)."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _executed(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under `nodes`, leaving out the bodies of `if TYPE_CHECKING:`."""
    for node in nodes:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _executed(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _executed(ast.iter_child_nodes(node))


def _imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The dotted names a statement imports: a module, or a module and a name in it (`X.Y`)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join([*package, *([base] if base else [])])
    for alias in node.names:
        yield base if alias.name == "*" else f"{base}.{alias.name}"


def _target(name: str, modules: dict[str, Path]) -> str | None:
    """The project module a dotted name reaches: itself, or the module that holds the name."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path, packages: Iterable[str]) -> Edges:
    modules = project_modules(root, packages)
    edges: Edges = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _executed(tree.body):
            for name in _imported(module, path.name == "__init__.py", node):
                target = _target(name, modules)
                if target is not None and target != module:
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    places = edges.setdefault(module, {}).setdefault(target, [])
                    if where not in places:
                        places.append(where)
    return edges


def circles(edges: Edges) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(edges.get(module, {})):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    nodes = set(edges) | {target for targets in edges.values() for target in targets}
    for module in sorted(nodes):
        if module not in index:
            visit(module)
    return sorted(found)


def describe(circle: list[str], edges: Edges) -> str:
    lines = [f"circle of {len(circle)} modules: {', '.join(circle)}"]
    for module in circle:
        for target in sorted(set(edges.get(module, {})) & set(circle)):
            lines.append(f"  {module} -> {target}  ({', '.join(edges[module][target])})")
    return "\n".join(lines)


def test_no_module_of_the_project_imports_itself_round_a_circle() -> None:
    edges = import_graph(ROOT, PACKAGES)
    found = circles(edges)
    assert not found, "import cycles:\n" + "\n".join(describe(circle, edges) for circle in found)


def test_the_walk_counts_what_runs_and_leaves_out_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.a import A\n")  # the package's face: no circle
    (package / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\nelse:\n    import pkg.d\n"
        "A = 1\n")
    (package / "b.py").write_text("from pkg.a import A\nB = 2\n")
    (package / "c.py").write_text("def later():\n    from pkg.sub import e\n")
    (package / "d.py").write_text("import os\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "e.py").write_text("from .. import c\nfrom ..a import A\n")
    edges = import_graph(tmp_path, ["pkg"])
    assert {module: sorted(targets) for module, targets in edges.items()} == {
        "pkg": ["pkg.a"], "pkg.a": ["pkg.d"], "pkg.b": ["pkg.a"], "pkg.c": ["pkg.sub.e"],
        "pkg.sub.e": ["pkg.a", "pkg.c"],
    }
    assert circles(edges) == [["pkg.c", "pkg.sub.e"]]
    assert edges["pkg.c"]["pkg.sub.e"] == ["pkg/c.py:2"]
