"""The contents of the static tests' tree (a module of its own: every plugin's tests have a
conftest.py, so `from conftest import ...` would pick whichever was imported first)."""

SECRET = b"TOP-SECRET-CONTENT\n"
DATA = bytes(range(256)) * 400  # 102400 bytes, every offset distinguishable mod 256
