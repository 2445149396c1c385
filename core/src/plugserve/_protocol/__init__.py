"""The protocol layer, sans I/O: HTTP/1.x bytes in, events out, responses framed into bytes.

Nothing here imports asyncio, and nothing outside `common.py` and the two engines sees h11 (see
DESIGN.md §3). `engines.py` picks the h11 engine (`h11_engine.py`, the reference) or the llhttp
engine (`fast_engine.py`); `chunked.py` checks chunk framing; `writer.py` frames responses; every
error raised here is one of `errors.py`'s types.
"""
