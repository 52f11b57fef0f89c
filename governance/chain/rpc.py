"""JSON-RPC batches: many calls in one HTTP round trip, each answered on its own.

web3.py's batching raises for the whole batch when one call fails; the relayer needs to
know which of two hundred transactions was refused, so it speaks JSON-RPC itself here.

The transport is :mod:`http.client` over one kept-alive connection: ``requests`` spent
more time preparing each POST (cookies, adapters, header merging) than the node took to
answer a batch of a hundred calls.
"""

from __future__ import annotations

import http.client
import json
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from core import fence
from governance.errors import ChainUnreachable

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True)
class RpcReply:
    """The answer to one call: a result, or an error with the node's message and data."""

    result: Any = None
    error_message: str | None = None
    error_data: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_message is None


def _close_slot(slot: list[http.client.HTTPConnection | None]) -> None:
    if slot[0] is not None:
        slot[0].close()
        slot[0] = None


@dataclass
class RpcBatch:
    """Sends lists of JSON-RPC calls to one node over a kept-alive connection."""

    url: str
    timeout: float = 30.0
    # The open connection, if any, in a one-slot list that a finalizer closes when this
    # object is collected (an RpcBatch often lives as long as a single sync or request).
    _slot: list[http.client.HTTPConnection | None] = field(
        default_factory=lambda: [None], repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        weakref.finalize(self, _close_slot, self._slot)

    def call(self, calls: list[tuple[str, list[Any]]]) -> list[RpcReply]:
        """Answers to ``calls`` (method, params), in order."""
        if not calls:
            return []
        sends = sum(method == "eth_sendRawTransaction" for method, _ in calls)
        if sends:
            fence.check(f"sending {sends} transaction(s)")
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        try:
            answers = json.loads(self._post(json.dumps(payload).encode()))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise ChainUnreachable(self.url, type(exc).__name__) from exc
        if not isinstance(answers, list):  # some nodes answer a whole bad batch with one error
            answers = [answers] * len(calls)
        by_id = {a.get("id"): a for a in answers}
        replies = []
        for i in range(len(calls)):
            answer = by_id.get(i, {"error": {"message": "no answer in the batch"}})
            error = answer.get("error")
            if error is None:
                replies.append(RpcReply(result=answer.get("result")))
            else:
                data = error.get("data")
                replies.append(
                    RpcReply(
                        error_message=str(error.get("message")),
                        error_data=data if isinstance(data, str) else None,
                    )
                )
        return replies

    def one(self, method: str, params: list[Any]) -> RpcReply:
        return self.call([(method, params)])[0]

    def close(self) -> None:
        """Close the connection (the next call opens a new one)."""
        with self._lock:
            _close_slot(self._slot)

    def _post(self, body: bytes) -> bytes:
        """POST ``body`` and return the answer's body. A kept-alive connection the node has
        closed meanwhile is retried once on a new one (JSON-RPC reads and
        ``eth_sendRawTransaction`` are safe to repeat)."""
        with self._lock:
            for attempt in (1, 2):
                reused = self._slot[0] is not None
                connection = self._slot[0] or self._connect()
                self._slot[0] = connection
                try:
                    connection.request("POST", self._path, body, _HEADERS)
                    response = connection.getresponse()
                    data = response.read()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    _close_slot(self._slot)
                    if reused and attempt == 1:
                        continue
                    raise
                except BaseException:
                    _close_slot(self._slot)
                    raise
                if response.will_close:
                    _close_slot(self._slot)
                if response.status != http.client.OK:
                    raise http.client.HTTPException(f"HTTP {response.status}")
                return data
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def _path(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _connect(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"not an HTTP JSON-RPC address: {self.url}")
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        return kind(parts.hostname, parts.port, timeout=self.timeout)
