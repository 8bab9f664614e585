"""Helpers for the integration and reliability tiers: the embedded broker, worker processes,
and producing/consuming through aiokafka."""
