"""JSON-RPC batches: many calls in one HTTP round trip, each answered on its own.

web3.py's batching raises for the whole batch when one call fails; the relayer needs to
know which of two hundred transactions was refused, so it speaks JSON-RPC itself here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from governance.errors import ChainUnreachable


@dataclass(frozen=True)
class RpcReply:
    """The answer to one call: a result, or an error with the node's message and data."""

    result: Any = None
    error_message: str | None = None
    error_data: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_message is None


@dataclass
class RpcBatch:
    """Sends lists of JSON-RPC calls to one node over a kept-alive connection."""

    url: str
    timeout: float = 30.0
    _http: requests.Session = field(default_factory=requests.Session)

    def call(self, calls: list[tuple[str, list[Any]]]) -> list[RpcReply]:
        """Answers to ``calls`` (method, params), in order."""
        if not calls:
            return []
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        try:
            response = self._http.post(self.url, json=payload, timeout=self.timeout)
            response.raise_for_status()
            answers = response.json()
        except (requests.RequestException, ValueError) as exc:
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
