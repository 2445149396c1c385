"""`python -m plugserve` runs the command."""

from .cli import main

raise SystemExit(main())
