# docs/examples/rpy_scripts.py
# Serve the .rpy files of a folder by name, and nothing else:
#   plugserve --config docs/examples/rpy_scripts.py --listen tcp:8080
#   curl http://localhost:8080/scripts/rpy_hello.rpy
import os

from plugserve.resource import Resource
from plugserve.util import Redirect
from plugserve_rpy import ResourceScriptDirectory

here = os.path.dirname(os.path.abspath(__file__))
root = Resource()
root.putChild(b"scripts", ResourceScriptDirectory(here))
root.putChild(b"", Redirect(b"/scripts/rpy_hello.rpy"))
