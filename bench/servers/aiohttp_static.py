"""Static-file peer: aiohttp.web's `web.static` route (FileResponse, sendfile by default).

Usage: python aiohttp_static.py PORT DIR
"""

import sys

from aiohttp import web

app = web.Application()
app.add_routes([web.static("/", sys.argv[2])])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
