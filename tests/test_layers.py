"""The core's shape, as DESIGN.md §3 draws it: every module in one layer, no import upwards
(except for types, under TYPE_CHECKING), and no module over 400 lines (core and plugins)."""

from __future__ import annotations

import ast
from pathlib import Path

import plugserve
import pytest

from tests.cli_helpers import REPO

PACKAGE = Path(plugserve.__file__).resolve().parent

#: Lowest first.  A module may import from its own layer and the ones before it.
LAYERS: dict[str, frozenset[str]] = {
    # leaf modules with no plugserve imports of their own (data types, constants, parsers)
    "base": frozenset({"error", "http_headers", "address", "defer", "_version", "_date",
                       "_reactor", "endpoints", "_forms", "_urlpath", "_status", "_registry",
                       "_conditional", "_loop_cleanup", "_pidlock"}),
    "protocol": frozenset({"_protocol"}),
    "transport": frozenset({"_transport"}),
    "client": frozenset({"_client", "client"}),
    "request": frozenset({"_request", "_response", "_takeover", "_addressing", "_log"}),
    "object model": frozenset({"resource", "server", "util", "session", "encoders", "rewrite",
                               "mounts", "_render", "http", "_factory"}),
    "face": frozenset({"_plugins", "_known", "_config_file", "_run", "_defaults", "config",
                       "hookspecs", "testing", "_wire"}),
    "processes": frozenset({"_workers"}),
    "command": frozenset({"cli", "_entry", "__init__", "__main__"}),
}
ORDER = list(LAYERS)


def _layer(module: str) -> str:
    """The layer of `plugserve.x.y` (by its first component below the package)."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    for name, members in LAYERS.items():
        if top in members:
            return name
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _runtime_imports(path: Path) -> list[tuple[str, int]]:
    """(module, line) of each plugserve import that runs (not under `if TYPE_CHECKING:`),
    including those inside functions."""
    module, is_package = _module_name(path)
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit_node(other)
                continue
            visit_node(child)

    def visit_node(child: ast.AST) -> None:
        if isinstance(child, ast.ImportFrom):
            if child.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (child.level - 1)]
                target = ".".join([*base, *([child.module] if child.module else [])])
            else:
                target = child.module or ""
            if target == "plugserve" or child.module is None:
                found.extend((f"{target}.{alias.name}", child.lineno) for alias in child.names)
            elif target.startswith("plugserve."):
                found.append((target, child.lineno))
        elif isinstance(child, ast.Import):
            found.extend((a.name, child.lineno) for a in child.names
                         if a.name.startswith("plugserve."))
        visit(child)

    visit(ast.parse(path.read_text()))
    return found


CORE_MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_upwards(path):
    module, _ = _module_name(path)
    mine = ORDER.index(_layer(module))
    upward = [
        f"line {line}: {target} ({_layer(target)})"
        for target, line in _runtime_imports(path)
        if target.split(".")[1:2] != ["__version__"] and ORDER.index(_layer(target)) > mine
    ]
    assert not upward, f"{module} ({_layer(module)}) imports upwards: {upward}"


def test_the_protocol_layer_does_no_io():
    for path in (PACKAGE / "_protocol").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {alias.name.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, (ast.Import, ast.ImportFrom))
                 for alias in (node.names if isinstance(node, ast.Import) else
                               [ast.alias(node.module or "")])}
        assert not names & {"asyncio", "socket", "selectors"}, path


SOURCES = sorted(
    p for p in [*PACKAGE.rglob("*.py"), *REPO.glob("plugins/*/src/**/*.py")]
    if "build" not in p.parts
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO.resolve())))
def test_no_module_is_over_400_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= 400, f"{path.name} has {lines} lines: split it by job"


def test_plugins_never_import_each_other() -> None:
    """A plugin imports the core's public API only; another plugin's kind of resource comes
    through a hook (DESIGN.md).  Checked over every plugin module, functions included."""
    found = []
    for source in sorted((REPO / "plugins").glob("*/src/plugserve_*/**/*.py")):
        own = source.relative_to(REPO / "plugins").parts[2]
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if not node.level else []
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top.startswith("plugserve_") and top != own:
                    found.append(f"{source.relative_to(REPO)}:{node.lineno} imports {name}")
    assert not found, "plugins import other plugins:\n" + "\n".join(found)


def test_registry_is_the_core_one_under_both_names() -> None:
    from plugserve.resource import Registry
    from plugserve_static import Registry as StaticRegistry

    assert StaticRegistry is Registry
    registry = Registry()
    registry.setComponent("key", 1)
    assert registry.getComponent("key") == 1 and registry.getComponent("other", 2) == 2
