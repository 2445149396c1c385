"""Traversal: the attack table, dotfiles, symlinks, index and redirect, listings, processors."""

from __future__ import annotations

import os

import pytest
from plugserve.resource import Resource
from plugserve_static import File
from static_data import SECRET

ATTACKS = [
    "/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt",
    "/%2e./secret.txt", "/..%2fsecret.txt", "/..%2Fsecret.txt", "/%2e%2e%2fsecret.txt",
    "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/sub%2f..%2f..%2fsecret.txt",
    "/..%5csecret.txt", "/..\\secret.txt", "/%5c..%5csecret.txt", "/sub\\..\\..\\secret.txt",
    "/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt", "/%c0%ae%c0%ae/secret.txt",
    "/%c0%ae%c0%ae%c0%afsecret.txt", "/%e0%80%ae%e0%80%ae/secret.txt", "/..%c0%afsecret.txt",
    "/hello.txt%00/../../secret.txt", "/%00", "/..%00/secret.txt", "/%2fetc%2fpasswd",
    "//etc/passwd", "/%2f%2e%2e%2fsecret.txt", "/./../secret.txt", "/sub/./../../secret.txt",
    "/....//secret.txt", "/.../secret.txt", "/%2e%2e%5c%2e%2e%5csecret.txt",
    "/sub/..%2f..%2fsecret.txt", "/" + "../" * 8 + "secret.txt", "/link_out%2f..%2fsecret.txt",
    "/%ff%fe/secret.txt", "/..;/secret.txt", "/hello.txt/../../secret.txt",
]


@pytest.mark.parametrize("path", ATTACKS)
def test_traversal_never_reaches_the_secret(serve, tree, path):
    root = File(str(tree))
    root.confineSymlinks = True
    server = serve(root)
    reply = server.raw(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    assert SECRET not in reply
    status = int(reply.split(b" ", 2)[1])
    # `//etc/passwd` starts with an empty segment: the root's listing, which is harmless.
    listing = status == 200 and b"Directory listing for" in reply
    assert status in (400, 404) or listing, reply[:200]
    assert str(tree).encode() not in reply  # no filesystem path in any page


def test_nul_is_404_not_500(serve, tree):
    assert serve(File(str(tree))).get("/hello%00.txt").status == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/.secret", 404, id="dotfile"),
        pytest.param("/.well-known/security.txt", 200, id="well-known"),
        pytest.param("/link_in", 200, id="symlink-inside"),
        pytest.param("/link_out", 200, id="symlink-outside-followed"),
        pytest.param("/broken", 404, id="broken-symlink"),
        pytest.param("/missing", 404, id="missing"),
        pytest.param("/hello.txt/", 404, id="file-with-slash"),
        pytest.param("/hello.txt/x", 404, id="below-a-file"),
        pytest.param("/./hello.txt", 200, id="dot-segment"),
    ],
)
def test_paths(serve, tree, path, status):
    assert serve(File(str(tree))).get(path).status == status


def test_dotfiles_when_allowed(serve, tree):
    root = File(str(tree))
    root.serveDotfiles = True
    server = serve(root)
    assert server.get("/.secret").body == b"dot"
    assert b".secret" in server.get("/").body


def test_symlinks_confined(serve, tree):
    root = File(str(tree))
    root.confineSymlinks = True
    server = serve(root)
    assert server.get("/link_out").status == 404
    assert server.get("/link_in").body == b"hello world\n"


def test_unreadable_is_403(unprivileged, public_tmp):
    """Run as root too: the server then runs as uid 65534 (conftest.Unprivileged)."""
    (public_tmp / "hello.txt").write_bytes(b"hello\n")
    (public_tmp / "open.txt").write_bytes(b"open\n")
    server = unprivileged(public_tmp)
    (public_tmp / "hello.txt").chmod(0)
    assert server.status("/hello.txt") == 403
    assert server.status("/open.txt") == 200  # and it keeps serving


def test_directory_redirect_keeps_query(serve, tree):
    r = serve(File(str(tree))).get("/sub?x=1&y=2")
    assert r.status == 302
    assert r.header("Location") == "/sub/?x=1&y=2"


def test_index_file(serve, tree):
    r = serve(File(str(tree))).get("/withindex/")
    assert (r.status, r.body) == (200, b"<h1>index</h1>")


def test_index_names_are_per_instance(serve, tree):
    one, two = File(str(tree)), File(str(tree))
    one.indexNames.append("x")
    one.processors[".x"] = File
    assert "x" not in two.indexNames and two.processors == {}


def test_listing(serve, tree):
    server = serve(File(str(tree)))
    r = server.get("/sub/")
    assert r.status == 200
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    body = r.body.decode()
    assert "a b&amp;&lt;c&gt;.txt" in body and "<c>" not in body
    assert 'href="a%20b%26%3Cc%3E.txt"' in body
    assert 'href="%22q%22.txt"' in body and "&quot;q&quot;.txt" in body
    assert body.index("zdir/") < body.index("a b&amp;")  # directories first
    assert 'href="../"' in body and "viewport" in body
    assert str(tree) not in body


def test_root_listing_hides_dotfiles_but_not_well_known(serve, tree):
    body = serve(File(str(tree))).get("/").body
    assert b".secret" not in body and b".well-known/" in body


def test_listing_methods(serve, tree):
    server = serve(File(str(tree)))
    assert server.request("POST", "/sub/", body=b"x").status == 405
    head = server.request("HEAD", "/sub/")
    assert (head.status, head.body) == (200, b"")


def test_no_listing(serve, tree):
    root = File(str(tree))
    root.allowListing = False
    server = serve(root)
    assert server.get("/sub/").status == 403
    assert server.get("/withindex/").status == 200


class Shout(Resource):
    isLeaf = True

    def __init__(self, path, registry):
        super().__init__()
        self.path = path
        self.registry = registry

    def render_GET(self, request):
        with open(self.path, "rb") as f:
            return f.read().upper()


def test_processors_and_registry(serve, tree):
    (tree / "loud.shout").write_bytes(b"quiet")
    root = File(str(tree))
    root.processors = {".shout": Shout}
    assert serve(root).get("/loud.shout").body == b"QUIET"


def test_resource_scripts_are_never_sent_as_source(serve, tree):
    """Without a processor (plugserve-rpy not installed) an .rpy is 404, not its code, and
    an index.rpy is passed over for the next index name or the listing."""
    (tree / "app.rpy").write_bytes(b"PASSWORD = 'hunter2'")
    (tree / "site").mkdir()
    (tree / "site" / "index.rpy").write_bytes(b"PASSWORD = 'hunter2'")
    (tree / "site" / "index.html").write_bytes(b"html index")
    (tree / "bare").mkdir()
    (tree / "bare" / "index.rpy").write_bytes(b"PASSWORD = 'hunter2'")
    root = File(str(tree))
    root.indexNames = ["index.rpy", "index.html"]
    server = serve(root)
    assert server.get("/app.rpy").status == 404
    assert server.get("/site/").body == b"html index"
    bare = server.get("/bare/")
    assert bare.status == 200 and b"hunter2" not in bare.body
    root.processors = {".rpy": Shout}
    assert server.get("/app.rpy").body == b"PASSWORD = 'HUNTER2'"


def test_ignore_ext(serve, tree):
    (tree / "page.html").write_bytes(b"page")
    root = File(str(tree))
    root.ignoreExt(".html")
    server = serve(root)
    assert server.get("/page").body == b"page"
    assert server.get("/hello").status == 404
    star = File(str(tree), ignoredExts=["*"])
    assert serve(star).get("/hello").body == b"hello world\n"


def test_precompressed(serve, tree):
    import gzip

    (tree / "big.txt").write_bytes(b"plain")
    (tree / "big.txt.gz").write_bytes(gzip.compress(b"plain"))
    root = File(str(tree))
    root.precompressed = True
    server = serve(root)
    r = server.get("/big.txt", headers={"Accept-Encoding": "gzip"})
    assert r.header("Content-Encoding") == "gzip" and r.header("Vary") == "Accept-Encoding"
    assert r.header("Content-Type") == "text/plain"
    assert gzip.decompress(r.body) == b"plain"
    plain = server.get("/big.txt", headers={"Accept-Encoding": "gzip;q=0"})
    assert plain.body == b"plain" and plain.header("Vary") == "Accept-Encoding"


def test_asis(serve, tree):
    from plugserve_static import ASISProcessor

    (tree / "gone.asis").write_bytes(
        b"Status: 410 Gone\r\nContent-Type: text/plain\r\nContent-Length: 999\r\n\r\nbye")
    root = File(str(tree))
    root.processors[".asis"] = ASISProcessor
    r = serve(root).get("/gone.asis")
    assert (r.status, r.body, r.header("Content-Length")) == (410, b"bye", "3")
    assert r.header("Content-Type") == "text/plain"


def test_files_under_a_root_share_its_tables_but_not_its_children(serve, tree):
    (tree / "sub").mkdir(exist_ok=True)
    (tree / "sub" / "font.woff9").write_bytes(b"f")
    root = File(str(tree))
    root.putChild(b"extra", File(str(tree / "hello.txt")))
    server = serve(root)
    root.contentTypes[".woff9"] = "font/x-test"  # a change after start reaches every file
    assert server.get("/sub/font.woff9").header("Content-Type") == "font/x-test"
    assert server.get("/extra").body == b"hello world\n"
    assert server.get("/sub/extra").status == 404


def test_a_subclass_createSimilarFile_makes_every_child(serve, tree):
    """Twisted's idiom: a File subclass overriding createSimilarFile sees each served path."""
    made: list[str] = []

    class Tracked(File):
        def createSimilarFile(self, path: str) -> File:
            made.append(os.path.basename(path))
            return super().createSimilarFile(path)

    server = serve(Tracked(str(tree)))
    assert server.get("/hello.txt").status == 200
    assert server.get("/sub/").status == 200
    assert made[0] == "hello.txt" and "sub" in made
