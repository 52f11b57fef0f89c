"""The chain index: governance events decoded into the database, safe against reorgs.

- :mod:`~governance.index.indexer`: :class:`~governance.index.indexer.Indexer`, syncing
  logs in chunks and rolling back on a reorg.
- :mod:`~governance.index.log_decoder`: fast decoding of the followed events.
- :mod:`~governance.index.apply`: what each event does to the index tables.
- :mod:`~governance.index.models`: the index tables.
- :mod:`~governance.index.read`: queries, and the index as a chain view for a node outage.
"""
