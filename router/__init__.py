"""Report router: validates reports of terrorist content, merges them into cases, tags groups and
origins, routes each case to its platform's queue and tracks the platforms' deadlines."""

__version__ = "0.1.0"

from router.native import guard as _guard

_guard()  # before any module that may be compiled is imported (router/native.py)
