"""The transport layer: asyncio moves the protocol layer's bytes to and from sockets.

`channel.py` is one connection (with its request side in `intake.py` and its response side in
`output.py`), `flow.py` its flow control, `sending.py` its send timeout and sendfile, `body.py`
the request body it feeds (spooled, or streamed with back-pressure; `body_blocking.py` its reads
for threads), and `listener.py` the listening sockets, the registry of connections and graceful
shutdown.  It reaches the object model only through the documented methods of
`plugserve.server.Site`.
"""
