"""Hello-world root for `python -m plugserve --config plugserve_hello_config.py`.

bench/run.py serves it with the real command, so that the engine (`--http h11|httptools`) and
the number of processes (`--workers N`) are chosen exactly as a user chooses them:

    python -m plugserve --config bench/servers/plugserve_hello_config.py \
        --listen tcp:PORT:interface=127.0.0.1 --no-access-log --http httptools
"""

from plugserve.resource import Resource


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: object) -> bytes:
        return b"Hello, world!"


root = Hello()
