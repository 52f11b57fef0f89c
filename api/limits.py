"""Rate limits and body size limits.

Rate limits are token buckets kept in memory, one per key (a client IP, or a voter
address for vote and delegation posts). A bucket holds up to ``burst`` tokens and refills
at ``rate`` tokens per second; a request takes one, and without one it gets 429 with a
``Retry-After``. The limits protect one process; behind several processes each has its own.

Bodies larger than the limit get 413: a declared ``Content-Length`` is checked before the
body is read, and a streamed body is counted as it arrives. File uploads (``POST`` to the
``upload_paths``) have their own, larger limit (``FAIRGOV_API_MAX_UPLOAD_BYTES``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import BodyLimitExceeded, BodyTooLarge, RateLimited, fairgov_error_response
from core.errors import FairgovError
from governance.messages.eip712 import recover_signer

Clock = Callable[[], float]
_MAX_KEYS = 100_000


class Slots:
    """At most ``size`` holders at a time, never waiting: :meth:`take` says whether one was
    free (the caller answers "busy" when not), :meth:`give_back` frees it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._held = 0
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        """How many slots are held now."""
        return self._held

    def take(self) -> bool:
        """Take a free slot: True, or False when all ``size`` are held."""
        with self._lock:
            if self._held >= self.size:
                return False
            self._held += 1
            return True

    def give_back(self) -> None:
        """Free a slot taken with :meth:`take`."""
        with self._lock:
            self._held -= 1


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class TokenBuckets:
    """Token buckets by key: ``burst`` tokens at most, refilled at ``rate`` per second."""

    rate: float
    burst: int
    clock: Clock = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0.0 if granted, else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _MAX_KEYS:
                    self._forget_full(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def check(self, key: str, scope: str) -> None:
        """Take a token for ``key`` or raise :class:`RateLimited`."""
        wait = self.take(key)
        if wait > 0:
            raise RateLimited(scope, max(1, math.ceil(wait)))

    def check_signer(self, account: str, digest: bytes, signature: str, scope: str) -> None:
        """:meth:`check` for ``account`` only if ``signature`` over ``digest`` is its key's.

        A per-account budget charged for any request that names the account let anyone
        use it up with junk signed by nobody, and so silence the account (review, session
        23). A signature that does not recover to ``account`` (junk, or a contract wallet's
        EIP-1271 signature) is left to the request's own checks, on its sender's IP budget.
        """
        try:
            signer = recover_signer(digest, bytes.fromhex(signature.removeprefix("0x")))
        except (FairgovError, ValueError):
            return
        if signer.lower() == account.lower():
            self.check(account.lower(), scope)

    def _forget_full(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= _MAX_KEYS:  # everyone is busy: forget the oldest half
            for key in sorted(self._buckets, key=lambda k: self._buckets[k].updated)[
                : _MAX_KEYS // 2
            ]:
                del self._buckets[key]


class LimitsMiddleware:
    """Per-IP rate limit and body size limit, as plain ASGI middleware."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        per_ip: TokenBuckets,
        max_body_bytes: int,
        upload_paths: Collection[str] = (),
        max_upload_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.per_ip = per_ip
        self.max_body_bytes = max_body_bytes
        self.upload_paths = frozenset(upload_paths)
        self.max_upload_bytes = max_body_bytes if max_upload_bytes is None else max_upload_bytes

    def _limit(self, scope: Scope) -> int:
        if scope.get("method") == "POST" and scope.get("path") in self.upload_paths:
            return self.max_upload_bytes
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        wait = self.per_ip.take(ip)
        if wait > 0:
            response = fairgov_error_response(RateLimited("client IP", max(1, math.ceil(wait))))
            await response(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await fairgov_error_response(BodyTooLarge(limit))(scope, receive, send)
            return
        await self._call_counting(scope, receive, send, limit)

    async def _call_counting(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyLimitExceeded(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except BodyLimitExceeded:
            if not started:
                await fairgov_error_response(BodyTooLarge(limit))(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
