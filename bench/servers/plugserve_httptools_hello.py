"""Hello-world peer: plugserve_hello.py on plugserve's httptools engine (`--http httptools`).

Usage: python plugserve_httptools_hello.py PORT
"""

from plugserve_hello import serve

serve("httptools")
