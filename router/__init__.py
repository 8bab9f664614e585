"""Report router: validates reports of terrorist content, merges them into cases, tags groups and
origins, routes each case to its platform's queue and tracks the platforms' deadlines."""

__version__ = "0.1.0"
