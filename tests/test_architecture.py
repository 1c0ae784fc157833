"""The layers drawn in docs/architecture.md are the layers of the code.

Every module of ``kcn_gis/`` is parsed with :mod:`ast`; every import (module level and inside
functions, but not under ``if TYPE_CHECKING:``) becomes an edge to the kcn_gis module it names.
The layer table is read from docs/architecture.md (between the ``layers:begin/end`` markers), so
the document and the test cannot drift apart. The checker itself is tested on small packages
written to a temporary folder, so each rule is shown to fail when broken.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"


# ---------------------------------------------------------------------------------------------- the checker
@dataclass
class Package:
    """The modules of a package tree and the imports between them."""

    root: str
    files: dict[str, Path] = field(default_factory=dict)  # module name -> file
    packages: set[str] = field(default_factory=set)  # names that are packages (__init__.py)
    edges: dict[str, dict[str, int]] = field(default_factory=dict)  # module -> {imported module: line}
    dynamic: list[str] = field(default_factory=list)  # importlib / __import__ uses of in-package modules


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _literal_prefix(node: ast.expr) -> str | None:
    """The constant text at the start of a string or f-string argument, None when it is not a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        head = node.values[0] if node.values else None
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value
        return ""
    return None


def scan(folder: Path, root: str) -> Package:
    """Parse every ``.py`` file under ``folder`` (the package ``root``) and collect its imports."""
    pkg = Package(root)
    for path in sorted(folder.rglob("*.py")):
        parts = [root, *path.relative_to(folder).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
            pkg.packages.add(".".join(parts))
        pkg.files[".".join(parts)] = path

    def resolve(target: str) -> str | None:
        while target:
            if target in pkg.files:
                return target
            if not target.startswith(root + ".") and target != root:
                return None
            target = target.rpartition(".")[0]
        return None

    for name, path in pkg.files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        here = name if name in pkg.packages else name.rpartition(".")[0]
        found: dict[str, int] = {}

        def add(target: str | None, line: int, name: str = name, found: dict[str, int] = found) -> None:
            if target is not None and target != name:
                found.setdefault(target, line)

        def visit(node: ast.AST, name: str = name, here: str = here, path: Path = path) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _is_type_checking(child):
                    for other in child.orelse:
                        visit_node(other, name, here, path)
                    continue
                visit_node(child, name, here, path)

        def visit_node(child: ast.AST, name: str, here: str, path: Path) -> None:
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(resolve(alias.name), child.lineno)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = here
                    for _ in range(child.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    add(full if full in pkg.files else resolve(base), child.lineno)
            elif isinstance(child, ast.Call):
                fn = child.func
                called = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
                if called in {"import_module", "__import__", "spec_from_file_location"} and child.args:
                    prefix = _literal_prefix(child.args[0])
                    if prefix is None or prefix.startswith((root, ".")) or called == "spec_from_file_location":
                        pkg.dynamic.append(f"{path}:{child.lineno}: {called}({ast.unparse(child.args[0])})")
            visit(child, name, here, path)

        visit(tree)
        pkg.edges[name] = found
    return pkg


def read_table(text: str) -> dict[str, int]:
    """The unit -> rank table between the ``layers:begin`` and ``layers:end`` markers of the document."""
    block = text.split("<!-- layers:begin -->", 1)[1].split("<!-- layers:end -->", 1)[0]
    table: dict[str, int] = {}
    for line in block.splitlines():
        m = re.match(r"\|\s*([\w.]+)\s*\|\s*(\d+)\s*\|", line)
        if m:
            assert m[1] not in table, f"unit {m[1]} is listed twice"
            table[m[1]] = int(m[2])
    return table


def unit_of(module: str, table: dict[str, int]) -> str | None:
    best = None
    for unit in table:
        if (module == unit or module.startswith(unit + ".")) and (best is None or len(unit) > len(best)):
            best = unit
    return best


def layer_violations(pkg: Package, table: dict[str, int]) -> list[str]:
    out = []
    for module, targets in sorted(pkg.edges.items()):
        a = unit_of(module, table)
        for target, line in sorted(targets.items()):
            b = unit_of(target, table)
            if a is None or b is None or a == b:
                continue
            if table[b] >= table[a]:
                why = "the same rank" if table[b] == table[a] else "a higher rank"
                out.append(
                    f"{pkg.files[module]}:{line}: {module} (unit {a}, rank {table[a]}) imports {target} "
                    f"(unit {b}, rank {table[b]}): {why}; imports go down the table in docs/architecture.md"
                )
    return out


def _cycles(adj: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(adj):
        if start in index:
            continue
        work = [(start, iter(sorted(adj.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(adj.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def import_circles(pkg: Package) -> list[str]:
    """Circles between modules, and between the children (modules, whole sub-packages) of every package."""
    adj = {m: set(t) for m, t in pkg.edges.items()}
    out = [f"modules import each other in a circle: {' <-> '.join(c)}" for c in _cycles(adj)]
    for parent in sorted(pkg.packages):

        def child(m: str, parent: str = parent) -> str | None:
            if m == parent:
                return f"{parent}/__init__"
            if not m.startswith(parent + "."):
                return None
            return f"{parent}.{m[len(parent) + 1 :].split('.')[0]}"

        cadj: dict[str, set[str]] = {}
        for m, targets in adj.items():
            c = child(m)
            if c is None:
                continue
            for t in targets:
                d = child(t)
                if d is not None and d != c:
                    cadj.setdefault(c, set()).add(d)
        for c in _cycles(cadj):
            out.append(f"inside {parent}: {' <-> '.join(c)} import each other in a circle")
    return out


# ------------------------------------------------------------------------------------------ the real package
@pytest.fixture(scope="module")
def kcn() -> Package:
    return scan(REPO / "kcn_gis", "kcn_gis")


@pytest.fixture(scope="module")
def table() -> dict[str, int]:
    return read_table(DOC.read_text(encoding="utf-8"))


def test_the_table_covers_every_module_and_names_only_real_ones(kcn, table):
    assert len(table) >= 20
    missing = sorted(m for m in kcn.files if unit_of(m, table) is None)
    assert not missing, f"add a row for these modules to the layer table in {DOC}: {missing}"
    unknown = sorted(u for u in table if u not in kcn.files)
    assert not unknown, f"the layer table in {DOC} names units that do not exist: {unknown}"


def test_imports_run_down_the_layers(kcn, table):
    assert sum(len(t) for t in kcn.edges.values()) > 200  # the parser really saw the imports
    violations = layer_violations(kcn, table)
    assert not violations, "\n".join(violations)


def test_no_import_circles(kcn):
    circles = import_circles(kcn)
    assert not circles, "\n".join(circles)


def test_no_importlib_for_kcn_gis_modules(kcn):
    assert not kcn.dynamic, "import these normally:\n" + "\n".join(kcn.dynamic)


def test_key_edges_are_seen(kcn):
    """Function-level imports count: the maps really import analytics, the store the bundled builder."""
    assert "kcn_gis.analytics" in kcn.edges["kcn_gis.maps.investor"]
    assert "kcn_gis.bundled.build_atlas" in kcn.edges["kcn_gis.store"]
    assert (
        "kcn_gis.analytics.fill" in kcn.edges["kcn_gis.dask_engine"]
        or "kcn_gis.analytics" in kcn.edges["kcn_gis.dask_engine"]
    )
    # TYPE_CHECKING imports are annotations only
    assert "kcn_gis.store.base" not in kcn.edges["kcn_gis.maps._base"]


# ------------------------------------------------------------------------------------- the checker can fail
def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / "toy" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root / "toy"


TOY_TABLE = {"toy": 9, "toy.low": 0, "toy.core": 1, "toy.other": 1, "toy.top": 2}


def test_checker_flags_an_upward_import_inside_a_function(tmp_path):
    folder = _write(
        tmp_path,
        {
            "__init__.py": "",
            "low.py": "X = 1\n",
            "core.py": "def f():\n    from toy.top import g\n    return g\n",
            "other.py": "",
            "top.py": "from toy import core\n\ndef g():\n    return core\n",
        },
    )
    pkg = scan(folder, "toy")
    problems = layer_violations(pkg, TOY_TABLE)
    assert (
        len(problems) == 1 and "toy.core" in problems[0] and "toy.top" in problems[0] and "higher rank" in problems[0]
    )
    assert import_circles(pkg)  # core -> top -> core, through a function-level import


def test_checker_flags_same_rank_siblings_and_relative_imports(tmp_path):
    folder = _write(
        tmp_path,
        {"__init__.py": "", "low.py": "", "core.py": "from .other import y\n", "other.py": "y = 2\n", "top.py": ""},
    )
    pkg = scan(folder, "toy")
    problems = layer_violations(pkg, TOY_TABLE)
    assert len(problems) == 1 and "same rank" in problems[0]
    assert not import_circles(pkg)


def test_checker_flags_package_circles_and_importlib(tmp_path):
    folder = _write(
        tmp_path,
        {
            "__init__.py": "",
            "low.py": "",
            "other.py": "",
            "top.py": "",
            "core/__init__.py": "from toy.core.a import A\n",
            "core/a.py": "A = 1\n",
            "core/b.py": "from toy.core import A\n",  # b -> core/__init__ -> a: fine
            "core/c.py": (
                "import importlib\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from toy.top import T\n"
                "def f():\n    return importlib.import_module('toy.low')\n"
                "def g(name):\n    return importlib.import_module(f'xstatic.pkg.{name}')\n"
            ),
            "core/d.py": "from toy.core import e\n",
            "core/e.py": "from toy.core.d import D\n",
        },
    )
    pkg = scan(folder, "toy")
    assert "toy.top" not in pkg.edges["toy.core.c"]  # TYPE_CHECKING
    assert len(pkg.dynamic) == 1 and "toy.low" in pkg.dynamic[0]  # xstatic is allowed
    circles = import_circles(pkg)
    assert any("toy.core.d <-> toy.core.e" in c for c in circles), circles


def test_the_table_parser_reads_the_document_shape():
    text = "x\n<!-- layers:begin -->\n| unit | rank |\n|---|---|\n| a.b | 3 | x |\n| a | 0 | y |\n<!-- layers:end -->\n"
    assert read_table(text) == {"a.b": 3, "a": 0}
    assert unit_of("a.b.c", {"a.b": 3, "a": 0}) == "a.b"
    assert unit_of("a.z", {"a.b": 3, "a": 0}) == "a"
    assert unit_of("q", {"a": 0}) is None


if __name__ == "__main__":  # print the unit-level graph, e.g. to redraw docs/architecture.md
    p, t = scan(REPO / "kcn_gis", "kcn_gis"), read_table(DOC.read_text(encoding="utf-8"))
    pairs = {(unit_of(m, t), unit_of(x, t)) for m, xs in p.edges.items() for x in xs}
    for a, b in sorted((a, b) for a, b in pairs if a != b):
        print(f"{a} ({t[a]}) -> {b} ({t[b]})", file=sys.stdout)
