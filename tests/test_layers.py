"""The house's shape: mmupt_core never imports Prefect, its parts import only parts below them, and no module
imports itself back through a circle. Every import counts, including those inside functions and under
TYPE_CHECKING: a lazy import hides a circle from the interpreter, not from a reader."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "mmupt_core"
# Lowest first. A part may import itself and any part of a lower layer; the shared modules of layer 0 may
# import each other (the circle check still applies).
LAYERS = {
    "config": 0,
    "prompts": 0,
    "paths": 0,
    "events": 0,
    "voting": 1,
    "data": 1,
    "store": 1,
    "world": 2,
    "model": 3,
    "scoring": 4,
    "view": 5,
    "rounds": 6,
    "cli": 7,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module path.py imports (absolute names), wherever the import stands in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            # `from mmupt_core.model import tiny` imports the module mmupt_core.model.tiny
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def core_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in CORE.rglob("*.py")}
    return {m: {i for i in imports_of(p) if i in modules and i != m} for m, p in modules.items()}


def part(module: str) -> str:
    return module.split(".")[1] if "." in module else "(root)"


def test_core_never_imports_prefect():
    modules = sorted(m for m in core_graph() if not m.endswith("__main__"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k == 'prefect' or k.startswith('prefect.'))\n"
        "print(bad[:3]); sys.exit(1 if bad else 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_core_source_has_no_prefect_import():
    for path in CORE.rglob("*.py"):
        bad = {i for i in imports_of(path) if i == "prefect" or i.startswith("prefect.")}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_every_part_is_known_and_documented():
    for path in CORE.iterdir():
        if path.name.startswith("_") or path.suffix not in (".py", "") or path.name == "__pycache__":
            continue
        name = path.stem
        assert name in LAYERS, f"mmupt_core/{path.name} belongs to no layer; add it to LAYERS in this test"
        if path.is_dir():
            init = path / "__init__.py"
            assert init.exists(), f"mmupt_core/{name}/ has no __init__.py"
            assert ast.get_docstring(ast.parse(init.read_text())), (
                f"mmupt_core/{name}/__init__.py: no docstring"
            )


def test_no_part_imports_one_above_it():
    bad = []
    for module, targets in core_graph().items():
        src = part(module)
        if src == "(root)":
            continue
        for t in targets:
            dst = part(t)
            if dst in ("(root)", src):
                continue
            if LAYERS[dst] > LAYERS[src] or (LAYERS[dst] == LAYERS[src] and LAYERS[src] > 0):
                bad.append(f"{module} ({src}, layer {LAYERS[src]}) imports {t} ({dst}, layer {LAYERS[dst]})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_circle():
    graph = core_graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(graph[m]):
            # A package's __init__ re-exports its modules; importing it from one of them is the package's own
            # business, not a circle between parts.
            if t == m.rsplit(".", 1)[0]:
                continue
            if state.get(t) == 1:
                return path[path.index(t) :] + [t]
            if t not in state and (found := visit(t)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (circle := visit(m)):
            raise AssertionError("import circle: " + " -> ".join(circle))


def test_drivers_and_bench_stay_outside():
    """The core imports neither tasks, flows nor bench; tasks do not import flows; nothing imports bench."""
    rules = {"mmupt_core": ("tasks", "flows", "bench"), "tasks": ("flows", "bench"), "flows": ("bench",)}
    for folder, banned in rules.items():
        for path in (ROOT / folder).rglob("*.py"):
            bad = {i for i in imports_of(path) if i.split(".")[0] in banned}
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
