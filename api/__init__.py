"""The HTTP API: token-holder voting, proposals, datasets, audits and report downloads.

A thin FastAPI layer over the governance and audit service functions: each route parses
its input, opens a session, calls one domain function and maps the result. Errors become
one JSON shape in :mod:`api.errors`; Sign-In with Ethereum lives in :mod:`api.auth`.
Build the app with :func:`api.main.create_app`; :mod:`cli.compose` builds it from settings.
"""
