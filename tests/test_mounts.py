"""Mounts (`plugserve_mounts`, plugserve.mounts) and the directory hook, in one process over
real sockets: prefixes, traversal state under a mount, clashes, and a folder from the hook."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from plugserve import hookimpl
from plugserve._plugins import Hooks
from plugserve._run import build_root, default_plugin_manager, mount_lines
from plugserve.config import Config
from plugserve.error import UsageError
from plugserve.mounts import (
    Mount,
    MountedRoot,
    merge_mounts,
    normalize_prefix,
    prefix_segments,
    split_prefixed,
)
from plugserve.resource import IResource, Resource
from plugserve.server import Request, Site
from plugserve.testing import TestServer

ServerFactory = Any


class Echo(Resource):
    """A leaf that says who it is and what traversal left it."""

    isLeaf = True

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def render_GET(self, request: Request) -> bytes:
        pre = b"/".join(request.prepath).decode()
        post = b"/".join(request.postpath).decode()
        return f"{self.name} pre=/{pre} post={post}".encode()


def _body(server: TestServer, path: str) -> tuple[int, str]:
    response = server.get(path)
    return response.status, response.body.decode()


@pytest.mark.parametrize(("text", "expected"), [
    ("/app", "/app"),
    ("app", "/app"),
    ("/app/", "/app"),
    ("/api/v1", "/api/v1"),
    ("api/v1/", "/api/v1"),
    ("/my%20app", "/my%20app"),
])
def test_normalize_prefix(text: str, expected: str) -> None:
    assert normalize_prefix(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "the root, not a mount"),
    ("/", "the root, not a mount"),
    ("//", "empty segment"),
    ("/a//b", "empty segment"),
    ("/a/./b", "'.' segment"),
    ("/a/..", "'..' segment"),
    ("/a?b", "contains '?'"),
    ("/a#b", "contains '#'"),
    (" /a", "spaces around it"),
])
def test_normalize_prefix_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_prefix(text)


def test_prefix_segments_are_what_postpath_holds() -> None:
    assert prefix_segments("/api/v1/") == (b"api", b"v1")
    assert prefix_segments("/my%20app/caf%C3%A9") == (b"my app", "café".encode())


@pytest.mark.parametrize(("text", "expected"), [
    ("/app=mod:app", ("/app", "mod:app")),
    ("app=mod:app", ("/app", "mod:app")),
    ("/api/v1/=x.rpy", ("/api/v1", "x.rpy")),
    ("mod:app", (None, "mod:app")),
    ("mod:create_app(debug=True)", (None, "mod:create_app(debug=True)")),
    ("mod:create(a='x=y')", (None, "mod:create(a='x=y')")),
])
def test_split_prefixed(text: str, expected: tuple[str | None, str]) -> None:
    assert split_prefixed(text, "--wsgi") == expected


@pytest.mark.parametrize(("text", "message"), [
    ("/a//b=mod:app", r"--wsgi /a//b=mod:app: the prefix '/a//b' is not a URL path: it has an "
                      r"empty segment"),
    ("/=mod:app", r"'/' is the root"),
    ("/app=", r"nothing after '='"),
])
def test_split_prefixed_refuses(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        split_prefixed(text, "--wsgi")


def test_merge_mounts_names_both_plugins_of_a_clash() -> None:
    a, b = Echo("a"), Echo("b")
    with pytest.raises(UsageError, match=r"plugins 'one' and 'two' both mount /api; give one"):
        merge_mounts([("one", {"/api": a}), ("two", {"api/": b})])
    with pytest.raises(UsageError, match=r"plugin 'one' mounts twice at /api"):
        merge_mounts([("one", {"/api": a, "/api/": b})])
    with pytest.raises(UsageError, match=r"plugin 'one' mounts '/a/\.\./b': it has a '\.\.'"):
        merge_mounts([("one", {"/a/../b": a})])
    with pytest.raises(UsageError, match=r"plugin 'one' mounts /a on a str, which is not a"):
        merge_mounts([("one", {"/a": "not a resource"})])  # type: ignore[dict-item]
    assert merge_mounts([("one", {"/b": a}), ("two", {"/a": b, "/b": a})]) == [
        Mount("/a", b, "two"), Mount("/b", a, "two")]


@pytest.mark.each_engine
def test_mounts_beside_a_branch_root(plugserve_server: ServerFactory) -> None:
    root = Resource()
    root.putChild(b"", Echo("home"))
    root.putChild(b"api", Echo("root-api"))  # a mount of the same name wins
    root.putChild(b"docs", Echo("root-docs"))
    mounts = merge_mounts([("test", {
        "/api": Echo("api"), "/api/v1": Echo("v1"), "/deep/er/still": Echo("deep"),
        "/caf%C3%A9": Echo("cafe"),
    })])
    server = plugserve_server(MountedRoot(root, mounts))
    assert _body(server, "/") == (200, "home pre=/ post=")
    assert _body(server, "/docs/x") == (200, "root-docs pre=/docs post=x")
    assert _body(server, "/api") == (200, "api pre=/api post=")
    assert _body(server, "/api/") == (200, "api pre=/api post=")
    assert _body(server, "/api/v2/x") == (200, "api pre=/api post=v2/x")
    assert _body(server, "/api/v1") == (200, "v1 pre=/api/v1 post=")
    assert _body(server, "/api/v1/a/b") == (200, "v1 pre=/api/v1 post=a/b")
    assert _body(server, "/deep/er/still/x") == (200, "deep pre=/deep/er/still post=x")
    assert _body(server, "/caf%C3%A9/x") == (200, "cafe pre=/café post=x")
    assert server.get("/deep/er").status == 404  # part of a prefix is the root's (none here)
    assert server.get("/nothing").status == 404


@pytest.mark.each_engine
def test_mounts_beside_a_leaf_root_and_without_a_root(plugserve_server: ServerFactory) -> None:
    mounts = merge_mounts([("test", {"/app": Echo("app"), "/a/b": Echo("ab")})])
    server = plugserve_server(MountedRoot(Echo("leaf"), mounts))
    assert _body(server, "/") == (200, "leaf pre=/ post=")
    assert _body(server, "/x/y") == (200, "leaf pre=/ post=x/y")  # the whole path, as alone
    assert _body(server, "/a/c") == (200, "leaf pre=/ post=a/c")
    assert _body(server, "/app/y") == (200, "app pre=/app post=y")
    assert _body(server, "/a/b/") == (200, "ab pre=/a/b post=")
    bare = plugserve_server(MountedRoot(None, mounts))
    assert bare.get("/").status == 404 and bare.get("/x").status == 404
    assert _body(bare, "/app") == (200, "app pre=/app post=")


class Mounter:
    """A plugin object mounting a fixed map."""

    def __init__(self, mounts: Mapping[str, IResource]) -> None:
        self.mounts = mounts

    @hookimpl
    def plugserve_mounts(self, config: Config) -> Mapping[str, IResource]:
        return self.mounts


class NoArguments:
    """pluggy's rules: an implementation may take fewer arguments than the spec."""

    @hookimpl
    def plugserve_mounts(self) -> Mapping[str, IResource]:
        return {"/quiet": Echo("quiet")}


def _hooks(**plugins: object) -> Hooks:
    pm = default_plugin_manager(Config(access_log=False))
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    return Hooks(pm)


def test_the_hook_is_merged_and_a_clash_names_both_plugins() -> None:
    config = Config()
    hooks = _hooks(alpha=Mounter({"/a": Echo("a")}), beta=Mounter({"/b/c": Echo("b")}),
                   gamma=NoArguments())
    assert [(m.prefix, m.plugin) for m in hooks.mounts(config)] == [
        ("/a", "alpha"), ("/b/c", "beta"), ("/quiet", "gamma")]
    clash = _hooks(alpha=Mounter({"/a": Echo("a")}), beta=Mounter({"/a/": Echo("b")}))
    with pytest.raises(UsageError, match="plugins 'alpha' and 'beta' both mount /a"):
        clash.mounts(config)


def test_build_root_wraps_a_site_and_lists_the_mounts() -> None:
    hooks = _hooks(alpha=Mounter({"/app": Echo("app")}))
    site = Site(Echo("home"))
    built, mounts, config = build_root(site, Config(), hooks)
    assert built is site and isinstance(site.resource, MountedRoot)
    assert config.hook is hooks.pm.hook
    assert mount_lines(site, mounts) == ["mount / -> Echo", "mount /app -> Echo (plugin alpha)"]
    bare, mounts, _ = build_root(None, Config(), hooks)
    assert isinstance(bare, MountedRoot)
    assert mount_lines(bare, mounts)[0] == "mount / -> nothing (404)"
    assert build_root(None, Config(), _hooks()) == (None, [], build_root(None, Config(),
                                                                         _hooks())[2])


class Folders:
    """A plugin that mounts a folder it gets from the directory hook."""

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder)

    @hookimpl
    def plugserve_mounts(self, config: Config) -> Mapping[str, IResource]:
        resource = config.directory_resource(self.folder)
        assert resource is not None
        return {"/files": resource}


@pytest.mark.each_engine
def test_a_folder_from_the_directory_hook_is_served_as_path_would(
    tmp_path: Path, plugserve_server: ServerFactory
) -> None:
    from plugserve_rpy import _plugin as rpy
    from plugserve_static import _plugin as static

    (tmp_path / "start.html").write_text("the index")
    (tmp_path / "page.html").write_text("a page")
    (tmp_path / "notes.log").write_text("log lines")
    (tmp_path / "hello.rpy").write_text(
        "from plugserve.resource import Resource\n"
        "class Hello(Resource):\n"
        "    isLeaf = True\n"
        "    def render_GET(self, request):\n"
        "        return b'rpy at ' + request.prePathURL().split(b'/', 3)[3]\n"
        "resource = Hello()\n"
    )
    (tmp_path / "empty").mkdir()
    options = {"index": ["start.html"], "ignore_ext": [".html"], "no_listing": True,
               "mime_type": [".log=text/x-log"]}
    config = Config(options=MappingProxyType(options), access_log=False)
    hooks = _hooks(static=static, rpy=rpy, folders=Folders(tmp_path))
    hooks.configure(config)
    assert Config().directory_resource(str(tmp_path)) is None  # no plugins: nobody answers
    built, _mounts, config = build_root(None, config, hooks)
    assert built is not None
    server = plugserve_server(built, hooks=hooks, options=options)
    assert _body(server, "/files/") == (200, "the index")
    assert _body(server, "/files/page") == (200, "a page")
    assert _body(server, "/files/hello.rpy") == (200, "rpy at files/hello.rpy")
    log = server.get("/files/notes.log")
    assert (log.status, log.header("Content-Type")) == (200, "text/x-log")
    assert server.get("/files/empty/").status == 403  # --no-listing
    assert server.get("/files").status in (301, 302)  # to the folder's trailing slash
    assert server.get("/").status == 404  # no root: only the mount
