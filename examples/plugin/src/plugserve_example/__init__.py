"""An example third-party plugserve plugin (see README.md)."""

from .resources import Greeting, Health

__all__ = ["Greeting", "Health"]
