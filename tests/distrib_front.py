"""A `--user` front server over the fake user database in $DISTRIB_USERS (a config file for
`plugserve --config`; tests/distrib_helpers.py writes the database)."""

import os

from plugserve.server import Site
from plugserve_distrib import UserDirectory

from tests.distrib_helpers import UserDatabase

site = Site(UserDirectory(UserDatabase.load(os.environ["DISTRIB_USERS"])))
