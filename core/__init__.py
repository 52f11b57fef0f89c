"""Shared foundations of fairgov: settings, root errors and the type vocabulary.

Nothing in ``core`` imports any other fairgov package.
"""
