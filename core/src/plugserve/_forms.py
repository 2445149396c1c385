"""Query strings and form bodies into Twisted's `args`: dict of bytes -> list of bytes."""

from __future__ import annotations

import email.message
import email.parser
import email.policy
from typing import IO
from urllib.parse import unquote_to_bytes

__all__ = ["FormError", "parse_form_body", "parse_qs"]


class FormError(ValueError):
    """The body claimed to be a form but could not be parsed (answered with 400)."""


def parse_qs(qs: bytes, args: dict[bytes, list[bytes]] | None = None) -> dict[bytes, list[bytes]]:
    """Parse `a=1&b=2;c=` as Twisted does: `&` and `;` separate, `+` is a space, blank values
    kept, items without `=` dropped, repeated names accumulate."""
    result: dict[bytes, list[bytes]] = {} if args is None else args
    if not qs:
        return result
    for item in qs.replace(b";", b"&").split(b"&"):
        name, sep, value = item.partition(b"=")
        if not sep:
            continue
        name = unquote_to_bytes(name.replace(b"+", b" "))
        value = unquote_to_bytes(value.replace(b"+", b" "))
        values = result.get(name)
        if values is None:
            result[name] = [value]
        else:
            values.append(value)
    return result


def parse_form_body(
    content_type: bytes, body: IO[bytes], args: dict[bytes, list[bytes]]
) -> None:
    """Add the fields of an urlencoded or multipart body to `args` (values accumulate); an
    empty body adds nothing."""
    mime = content_type.partition(b";")[0]
    mime = mime.strip().lower()
    if mime == b"application/x-www-form-urlencoded":
        body.seek(0)
        parse_qs(body.read(), args)
        body.seek(0)
    elif mime == b"multipart/form-data":
        body.seek(0)
        data = body.read()
        body.seek(0)
        # As in Twisted, an empty body is not parsed: a POST that only names the form type
        # (no fields at all) keeps its query args instead of getting a 400.
        if data:
            _parse_multipart(content_type, data, args)


def _parse_multipart(content_type: bytes, data: bytes, args: dict[bytes, list[bytes]]) -> None:
    if b"boundary=" not in content_type.lower():
        raise FormError("multipart body without a boundary")
    header = b"Content-Type: " + content_type + b"\r\nMIME-Version: 1.0\r\n\r\n"
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(header + data)
    if not message.is_multipart() or message.defects:
        raise FormError("malformed multipart body")
    parts = message.get_payload()
    if not isinstance(parts, list) or not parts:
        raise FormError("malformed multipart body")
    for part in parts:
        if not isinstance(part, email.message.Message):
            raise FormError("malformed multipart body")
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        key = str(name).encode("utf-8")
        args.setdefault(key, []).append(payload)
