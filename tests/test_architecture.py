"""The layout holds: shared code names no task, space or method; no import circles; every function-local
import says why it is deferred. Read from the source with ``ast``, so a violation anywhere fails here."""

import ast
from pathlib import Path

import pytest

from search_space import SPACES
from trials.methods import METHODS
from trials.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("search_space", "trials", "orchestrator", "analysis")
# Registry packages: each module but base.py is one registered implementation, or (__init__) the list that
# imports them to fill the registry. search_space/<space>/ folders are implementations too.
IMPLEMENTATION_PACKAGES = ("trials/tasks", "trials/methods", "trials/data/kinds", "orchestrator/experiments",
                           "analysis/pictures")
# Names of the systems that arrive later, so shared code written today does not spell them either.
ANNOUNCED = ("derain", "dlsr", "autoderain", "mdarts", "darts")


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def is_implementation(path: Path) -> bool:
    rel = path.relative_to(REPO).as_posix()
    in_registry_package = any(rel.startswith(pkg + "/") and path.name != "base.py" for pkg in IMPLEMENTATION_PACKAGES)
    in_space_folder = rel.startswith("search_space/") and rel.count("/") >= 2
    return in_registry_package or in_space_folder or rel == "search_space/__init__.py"


def shared_modules() -> list[Path]:
    return [p for p in modules() if not is_implementation(p)]


def component_names() -> set[str]:
    """Tasks, spaces and methods (losses are defined in the shared losses module itself)."""
    return {name for registry in (TASKS, SPACES, METHODS) for name in registry.names()} | set(ANNOUNCED)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, top_level_only: bool) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module_name(path).split(".")
                package = package if path.name == "__init__.py" else package[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found += [(node.lineno, base)] + [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def test_component_names_are_registered():
    assert {"denoise", "sr"} <= set(TASKS.names()) and "hinas" in SPACES.names()
    assert {"hinas", "rsws"} <= set(METHODS.names())


@pytest.mark.parametrize("path", shared_modules(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_shared_code_names_no_task_space_or_method(path):
    names = component_names()
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    literals = [(node.lineno, node.value) for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                and node.value.lower() in names]
    assert not literals, f"{path.name} spells component names (look them up in a registry): {literals}"
    concrete = [(line, name) for line, name in imported_modules(path, top_level_only=False)
                if is_implementation_module(name)]
    assert not concrete, f"{path.name} imports an implementation (use the registry): {concrete}"


def is_implementation_module(name: str) -> bool:
    """Whether ``name`` is the module of one implementation (search_space.hinas, trials.tasks.sr, ...).

    Registry packages themselves (``trials.tasks``: interface plus the list that fills it) are shared."""
    base = REPO.joinpath(*name.split("."))
    path = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
    if path is None:  # a name inside a module (from m import X), or outside the repository
        return False
    registry_roots = {REPO / pkg / "__init__.py" for pkg in (*IMPLEMENTATION_PACKAGES, "search_space")}
    return is_implementation(path) and path not in registry_roots


def test_no_import_circle_between_modules():
    """Every import counts, deferred ones (inside functions) and ``TYPE_CHECKING`` ones too: hiding a circle
    there is still a circle between the modules."""
    known = {module_name(p): p for p in modules()}
    graph = {name: set() for name in known}
    for name, path in known.items():
        for _, target in imported_modules(path, top_level_only=False):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not _is_parent_package(target, name):
                graph[name].add(target)
    cycle = _find_cycle(graph)
    assert cycle is None, f"import circle: {' -> '.join(cycle)}"


def _is_parent_package(target: str, name: str) -> bool:
    """A registry package's __init__ imports its modules, which import the package's base: not a circle."""
    return name.startswith(target + ".")


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_function_local_imports_say_why_they_are_deferred():
    missing = []
    for path in modules():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            local = [node for node in ast.walk(function) if isinstance(node, ast.Import | ast.ImportFrom)]
            missing += [f"{path.relative_to(REPO)}:{n.lineno}" for n in local if "deferred" not in lines[n.lineno - 1]]
    assert not missing, f"function-local imports without a '# deferred: why' comment: {missing}"


def test_the_layout_test_sees_every_package():
    assert len(shared_modules()) > 30 and any(is_implementation(p) for p in modules())
    assert all(not is_implementation_module(m) for m in ("trials.tasks.base", "trials.methods", "search_space.core"))
    assert all(is_implementation_module(m) for m in ("trials.tasks.sr", "search_space.hinas.ops"))
