"""`plugserve.http`: Twisted's names (status codes, `datetimeToString`, `stringToDatetime`) and
the one implementation of HTTP dates and conditional requests the core and static share."""

from __future__ import annotations

from typing import Any

import pytest
from plugserve import http
from plugserve.resource import Resource

from tests.wire import ServerFactory

SUNDAY = 784111777  # RFC 9110 §5.6.7's example: Sun, 06 Nov 1994 08:49:37 GMT


def test_datetime_to_string_is_an_imf_fixdate() -> None:
    assert http.datetimeToString(SUNDAY) == b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert http.datetimeToString().endswith(b" GMT")  # now


@pytest.mark.parametrize("text", [
    b"Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
    b"Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
    b"Sun Nov  6 08:49:37 1994",  # obsolete asctime
])
def test_string_to_datetime_reads_the_three_forms(text: bytes) -> None:
    assert http.stringToDatetime(text) == SUNDAY


@pytest.mark.parametrize("text", [b"", b"yesterday", b"Sun, 06 Nov 1960 08:49:37 GMT", b"\xff"])
def test_string_to_datetime_refuses_what_is_not_a_date(text: bytes) -> None:
    with pytest.raises(ValueError, match="not an HTTP date"):
        http.stringToDatetime(text)


@pytest.mark.parametrize(("method", "headers", "expected"), [
    (b"GET", {}, None),
    (b"GET", {b"if-none-match": b'"a"'}, 304),
    (b"GET", {b"if-none-match": b'W/"a"'}, 304),  # weak comparison
    (b"PUT", {b"if-none-match": b'"a"'}, 412),
    (b"GET", {b"if-match": b'"b"'}, 412),
    (b"GET", {b"if-match": b'W/"a"'}, 412),  # strong comparison
    (b"GET", {b"if-match": b"*"}, None),
    (b"GET", {b"if-modified-since": b"Sun, 06 Nov 1994 08:49:37 GMT"}, 304),
    (b"GET", {b"if-modified-since": b"Sun, 06 Nov 1994 08:49:36 GMT"}, None),
    (b"POST", {b"if-modified-since": b"Sun, 06 Nov 1994 08:49:37 GMT"}, None),
    (b"GET", {b"if-modified-since": b"garbage"}, None),
    (b"PUT", {b"if-unmodified-since": b"Sun, 06 Nov 1994 08:49:36 GMT"}, 412),
    # §13.2.2: If-None-Match decides, If-Modified-Since is then ignored
    (b"GET", {b"if-none-match": b'"b"', b"if-modified-since": b"Sun, 06 Nov 1994 08:49:37 GMT"},
     None),
])
def test_evaluate_preconditions(method: bytes, headers: dict[bytes, bytes],
                                expected: int | None) -> None:
    assert http.evaluate_preconditions(method, headers, b'"a"', SUNDAY) == expected


def test_if_range() -> None:
    assert http.if_range_holds({}, b'"a"', SUNDAY)
    assert http.if_range_holds({b"if-range": b'"a"'}, b'"a"', SUNDAY)
    assert not http.if_range_holds({b"if-range": b'W/"a"'}, b'W/"a"', SUNDAY)
    assert http.if_range_holds({b"if-range": b"Sun, 06 Nov 1994 08:49:37 GMT"}, b'"a"', SUNDAY)
    assert not http.if_range_holds({b"if-range": b"Sun, 06 Nov 1994 08:49:38 GMT"}, None, SUNDAY)


def test_static_formats_dates_with_the_core() -> None:
    from plugserve_static import _send

    assert _send._http_date.__wrapped__ is http.datetimeToString
    assert not hasattr(_send, "email")


@pytest.mark.each_engine
def test_request_validators_use_the_same_rules(plugserve_server: ServerFactory) -> None:
    class Page(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            if request.setETag(b'"v1"') == http.CACHED:
                return b""
            if request.setLastModified(SUNDAY) == http.CACHED:
                return b""
            return b"fresh"

    srv = plugserve_server(Page())
    assert srv.get("/").body == b"fresh"
    assert srv.get("/", headers={"If-None-Match": 'W/"v1", "v0"'}).status == 304
    dated = srv.get("/", headers={"If-Modified-Since": "Sunday, 06-Nov-94 08:49:37 GMT"})
    assert dated.status == 304
    older = srv.get("/", headers={"If-Modified-Since": "Sun, 06 Nov 1994 08:49:36 GMT"})
    assert older.status == 200
