"""Pure, synchronous decisions of the router.

Nothing in this package imports Faust, aiokafka or the settings, reads the clock or the
environment, or does I/O: time comes in as ``now``, data (watchlist, policy, host lists) as
arguments. tests/test_boundaries.py enforces it.
"""
