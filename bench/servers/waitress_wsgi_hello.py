"""WSGI hello-world peer: waitress (its default 4 threads) serving servers/wsgi_hello_app.py.

Usage: python waitress_wsgi_hello.py PORT

waitress logs a warning each time a request has to wait for a free thread ("Task queue depth
is N"), thousands per second under wrk's 50 connections; that logger is silenced so that no
peer pays for logging.  Everything else is `waitress-serve wsgi_hello_app:application`.
"""

import logging
import sys

import waitress
from wsgi_hello_app import application

logging.getLogger("waitress.queue").setLevel(logging.ERROR)
waitress.serve(application, listen=f"127.0.0.1:{sys.argv[1]}")
