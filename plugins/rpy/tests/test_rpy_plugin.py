"""The plugin's hooks: the .rpy processor for --path, --resource-script and its checks."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import plugserve_rpy
import pytest
from plugserve import Config
from plugserve.error import UsageError
from plugserve.testing import TestServer, plugin_hooks
from plugserve_rpy import ResourceScript, ResourceScriptWrapper, _plugin
from plugserve_static import File
from plugserve_static import _plugin as static_plugin

Write = Callable[[Path, str], Path]
ServerFactory = Callable[..., TestServer]

HELLO = """\
    from plugserve.resource import Resource

    class Hello(Resource):
        isLeaf = True

        def render_GET(self, request):
            return b"hello from " + __file__.rsplit("/", 1)[-1].encode()

    resource = Hello()
"""


def _config(**options: Any) -> Config:
    return Config(options=MappingProxyType(options))


def test_processors_hook_contributes_rpy() -> None:
    assert _plugin.plugserve_processors(_config()) == {".rpy": ResourceScript}


def test_path_runs_scripts_and_index_rpy(www: Path, write: Write,
                                         plugserve_server: ServerFactory) -> None:
    """`--path DIR` (the static plugin's root) gets the .rpy processor through the hook, and
    index.rpy is one of File's index names."""
    write(www / "page.rpy", HELLO)
    write(www / "app" / "index.rpy", HELLO)
    config = _config(path=str(www))
    hooks = plugin_hooks(static_plugin, _plugin, config=config)
    root = static_plugin.plugserve_make_root(hooks.with_processors(config))
    assert isinstance(root, File) and root.processors[".rpy"] is ResourceScript
    server = plugserve_server(root)
    assert server.get("/page.rpy").body == b"hello from page.rpy"
    assert server.get("/app/").body == b"hello from index.rpy"


def test_make_root_for_resource_script(www: Path, write: Write) -> None:
    script = write(www / "site.rpy", HELLO)
    root = _plugin.plugserve_make_root(_config(resource_script=str(script)))
    assert isinstance(root, ResourceScriptWrapper) and root.path == str(script)
    assert _plugin.plugserve_make_root(_config()) is None
    _plugin.plugserve_configure(_config(resource_script=str(script)))  # no error


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        pytest.param("missing.rpy", None, ": no such file; give an existing .rpy file$",
                     id="missing"),
        pytest.param("folder.rpy", "", ": is a directory; give an existing .rpy file$",
                     id="directory"),
        pytest.param("syntax.rpy", "x = 1\nresource = (\n",
                     ", line 2: SyntaxError: '\\(' was never closed; fix the script$",
                     id="syntax"),
    ],
)
def test_configure_refuses_a_bad_script(www: Path, write: Write, name: str,
                                        source: str | None, message: str) -> None:
    path = www / name
    if name == "folder.rpy":
        path.mkdir()
    elif source is not None:
        write(path, source)
    with pytest.raises(UsageError, match=f"^--resource-script {re.escape(str(path))}{message}"):
        _plugin.plugserve_configure(_config(resource_script=str(path)))


def test_configure_refuses_resource_script_with_path(www: Path, write: Write) -> None:
    script = write(www / "site.rpy", HELLO)
    with pytest.raises(UsageError, match="--path also names a root; give only one"):
        _plugin.plugserve_configure(_config(resource_script=str(script), path=str(www)))


def test_resource_script_with_a_prefix_is_a_mount(www: Path, write: Write) -> None:
    script = write(www / "site.rpy", HELLO)
    other = write(www / "a=b.rpy", HELLO)  # an existing file is a file, "=" or not
    _plugin.plugserve_configure(_config(resource_script=[f"/x={script}"], path=str(www)))
    config = _config(resource_script=[f"/tools/x={script}", str(other)])
    _plugin.plugserve_configure(config)
    mounts = _plugin.plugserve_mounts(config)
    assert list(mounts) == ["/tools/x"]
    assert isinstance(mounts["/tools/x"], ResourceScriptWrapper)
    root = _plugin.plugserve_make_root(config)
    assert isinstance(root, ResourceScriptWrapper) and root.path == str(other)
    assert _plugin.plugserve_mounts(_config()) == {}
    with pytest.raises(UsageError, match="is served under /t already"):
        _plugin.plugserve_configure(_config(resource_script=[f"/t={script}", f"t/={script}"]))
    with pytest.raises(UsageError, match=r"--resource-script /t=nope\.rpy: no such file"):
        _plugin.plugserve_configure(_config(resource_script=["/t=nope.rpy"]))


def test_public_names_exist_and_are_typed() -> None:
    for name in plugserve_rpy.__all__:
        value = getattr(plugserve_rpy, name)
        if inspect.isfunction(value):
            assert "return" in value.__annotations__, name
    assert (Path(plugserve_rpy.__file__).parent / "py.typed").exists()
