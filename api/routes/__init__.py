"""One module per resource; :mod:`api.main` collects their routers."""
