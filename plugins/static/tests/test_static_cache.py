"""The small-file cache: a file is read afresh as soon as its stat says it changed, whatever
the change, and the cache stays within its bound (--file-cache-size)."""

from __future__ import annotations

import os

import pytest
from plugserve_static import File
from plugserve_static._cache import SmallFileCache


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"first")
    return path


def test_an_edit_that_keeps_size_and_mtime_is_seen(serve, small):
    server = serve(File(str(small.parent)))
    assert server.get("/a.txt").body == b"first"
    st = os.stat(small)
    small.write_bytes(b"other")
    os.utime(small, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same size and mtime
    assert server.get("/a.txt").body == b"other"


def test_a_file_replaced_by_rename_is_seen(serve, small):
    server = serve(File(str(small.parent)))
    assert server.get("/a.txt").body == b"first"
    new = small.parent / "new.tmp"
    new.write_bytes(b"renamed")
    os.replace(new, small)
    assert server.get("/a.txt").body == b"renamed"


def test_a_file_that_became_unreadable_is_403(unprivileged, public_tmp):
    """Cached while readable, then mode 000: 403, not the cached copy.  As root the server
    runs as uid 65534 (conftest.Unprivileged), so the branch runs in CI."""
    small = public_tmp / "a.txt"
    small.write_bytes(b"first")
    server = unprivileged(public_tmp)
    assert server.status("/a.txt") == 200
    small.chmod(0)
    try:
        assert server.status("/a.txt") == 403
    finally:
        small.chmod(0o644)
    assert server.status("/a.txt") == 200


def test_a_removed_file_is_404(serve, small):
    server = serve(File(str(small.parent)))
    assert server.get("/a.txt").status == 200
    small.unlink()
    assert server.get("/a.txt").status == 404


def test_the_cache_stays_within_its_bound(serve, tmp_path):
    for name in "abcde":
        (tmp_path / name).write_bytes(name.encode() * 400)
    root = File(str(tmp_path))
    root.fileCache = SmallFileCache(1000)
    server = serve(root)
    for name in "abcdeab":
        response = server.get("/" + name)
        assert response.body == name.encode() * 400
        assert root.fileCache.size <= 1000
    assert len(root.fileCache) == 2


def test_a_zero_size_cache_keeps_nothing_and_serves(serve, small):
    root = File(str(small.parent))
    root.fileCache = SmallFileCache(0)
    server = serve(root)
    assert server.get("/a.txt").body == b"first"
    assert server.get("/a.txt").body == b"first"
    assert len(root.fileCache) == 0


def test_cached_files_answer_ranges_and_conditionals(serve, small):
    server = serve(File(str(small.parent)))
    first = server.get("/a.txt")
    assert server.get("/a.txt", {"Range": "bytes=1-2"}).body == b"ir"
    etag = first.header("ETag")
    assert etag is not None
    assert server.get("/a.txt", {"If-None-Match": etag}).status == 304
    multi = server.get("/a.txt", {"Range": "bytes=0-0,3-4"})
    assert multi.status == 206 and b"f" in multi.body and b"st" in multi.body


def test_large_files_are_not_cached(serve, tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 200_000)
    root = File(str(tmp_path))
    server = serve(root)
    assert len(server.get("/big").body) == 200_000
    assert len(root.fileCache) == 0
