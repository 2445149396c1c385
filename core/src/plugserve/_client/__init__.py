"""The HTTP/1.1 client (public as `plugserve.client`): upstream addresses, connections, the
pool.  A layer above the transport: it uses only the protocol layer's response parser."""
