"""The package's layers import downward only, and no module imports itself back in a cycle.

    cli -> growth -> training, metrics -> data, losses, networks, augment -> utils, layers, errors

Every import statement counts, including those inside functions. Within one package
(e.g. two modules of growgan.metrics) imports are allowed but may not form a cycle;
training and metrics (and data, losses, networks) do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "growgan"

RANK = {
    "": -1, "errors": -1,  # growgan/__init__ holds only __version__; errors.py the one error type
    "layers": 0, "utils": 0,
    "data": 1, "losses": 1, "networks": 1, "augment": 1,
    "training": 2, "metrics": 2,
    "growth": 3,
    "cli": 4,
    "__main__": 5,  # `python -m growgan`
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(["growgan", *parts])] = path
    return out


def _imports(path: Path, module: str, modules: dict[str, Path]) -> set[str]:
    """growgan modules imported anywhere in the file (a name imported from a package counts
    as its submodule when one exists)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name.startswith("growgan") and name != module:
                found.add(name)
    return found


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(p, m, modules) for m, p in modules.items()}


def test_every_area_has_a_rank():
    assert {_area(m) for m in _modules()} <= set(RANK)


def test_imports_run_downward_only():
    bad = []
    for module, deps in _graph().items():
        for dep in deps:
            a, b = _area(module), _area(dep)
            if a != b and RANK[b] >= RANK[a]:
                bad.append(f"{module} -> {dep}")
    assert not bad, "upward or sideways imports:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path):
    """The walk must count a deferred import too (that is how cycles used to hide)."""
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from growgan.cli import main\n    return main\n")
    assert _imports(mod, "growgan.networks.m", {"growgan.cli": mod, "growgan.networks.m": mod}) == {"growgan.cli"}
