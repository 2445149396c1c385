# Twisted Web guide, ".rpy scripts": the Resource subclass lives in a module (myresource.py, next
# to this script), reloaded on every request so that edits of the module show too.
# Ported to plugserve: only the imports changed (Python 3's `reload` is imported from importlib).
# Run: plugserve --path examples/guide/rpy_scripts, then visit /reloading.rpy
from importlib import reload

import myresource

## Comment out this line when finished debugging
reload(myresource)

resource = myresource.MyResource()
