"""The chain index: governance events decoded into the database, safe against reorgs."""
