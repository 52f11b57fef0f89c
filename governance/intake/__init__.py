"""Accepting signed messages: verify everything, then commit one outbox row (no gas spent)."""
