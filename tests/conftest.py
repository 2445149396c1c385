"""The suite uses plugserve's own pytest plugin (the `plugserve_server` fixture, installed with
the core as a `pytest11` entry point); shared helpers live in tests/wire.py and
tests/cli_helpers.py."""
