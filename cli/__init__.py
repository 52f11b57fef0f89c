"""The ``fairgov`` command line: a thin adapter over the domain packages."""
