"""Every name a public module exports exists, and the package ships its type information."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import plugserve
import pytest

PUBLIC = [
    *sorted(
        name
        for _, name, _ in pkgutil.iter_modules(plugserve.__path__, "plugserve.")
        if not name.rsplit(".", 1)[1].startswith("_")
    ),
    "plugserve",
]


@pytest.mark.parametrize("module_name", PUBLIC)
def test_all_attributes_exist_and_are_typed(module_name):
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} has no __all__"
    for name in exported:
        value = getattr(module, name)  # raises if missing
        if inspect.isfunction(value) and value.__module__.startswith("plugserve"):
            hints = value.__annotations__
            assert "return" in hints, f"{module_name}.{name} has no return annotation"


def test_py_typed_is_shipped():
    assert (Path(plugserve.__file__).parent / "py.typed").exists()


def test_twisted_names_are_where_ported_code_looks():
    from plugserve import reactor, resource, server, util

    for name in ("Resource", "NoResource", "ForbiddenResource", "ErrorPage",
                 "EncodingResourceWrapper", "getChildForRequest"):
        assert hasattr(resource, name)
    for name in ("Site", "Request", "NOT_DONE_YET", "GzipEncoderFactory", "Session"):
        assert hasattr(server, name)
    assert callable(util.redirectTo) and callable(reactor.callLater)
    assert server.NOT_DONE_YET == 1  # Twisted's value


def test_core_never_imports_a_plugin():
    source = Path(plugserve.__file__).parent
    for path in source.rglob("*.py"):
        text = path.read_text()
        assert "import plugserve_" not in text and "from plugserve_" not in text, path
