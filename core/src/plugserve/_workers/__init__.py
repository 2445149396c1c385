"""The processes layer: `--workers N`, a supervisor forking workers that share the sockets.

`start.py` is the entry point (and the theory of operation), `supervisor.py` the parent,
`worker.py` the child and the load board they share.
"""
