"""Request and response models of the API, one module per area.

Following the house pattern: ``…Public`` is what a route returns, ``…sPublic`` wraps a
page of them as ``{data, count}``; request bodies are ``…Create`` or ``…Request``. uint256
values (proposal ids, vote weights, token amounts) are decimal strings, because they exceed
JavaScript's safe integers.
"""
