"""A small HTTP/1.1 load generator for the API benchmarks (loopback, keep-alive).

httpx spends about a millisecond of client CPU per request, which on a 2-core machine
measures the client as much as the server. This sends pre-encoded requests over
persistent asyncio connections and parses only the status line and ``Content-Length``,
as wrk or hey would. Two modes:

- :func:`closed_loop`: ``concurrency`` connections, each sending its next request as soon
  as the previous answer arrives (maximum throughput);
- :func:`open_loop`: requests started on a fixed schedule (``rate`` per second) whatever the
  server's pace, so queueing shows up in the latencies (no coordinated omission).

A latency runs from the first byte written to the last byte of the answer read.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What a load run saw: seconds, latencies of answered requests, statuses."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)

    def count(self, status: int) -> int:
        return self.statuses[str(status)]


def request(method: str, path: str, host: str, body: Any = None) -> bytes:
    """The bytes of one HTTP/1.1 keep-alive request (JSON body if ``body`` is given)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    payload = b""
    if body is not None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, raw: bytes) -> int:
        """Send ``raw`` and read the whole answer; its status code."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
                break
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def _connect(host: str, port: int) -> _Connection:
    reader, writer = await asyncio.open_connection(host, port)
    return _Connection(reader, writer)


async def closed_loop(
    host: str, port: int, requests: Sequence[bytes], concurrency: int, deadline: float
) -> Outcome:
    """Send every request with ``concurrency`` connections, each one request at a time."""
    outcome = Outcome()
    pending: Iterator[bytes] = iter(requests)
    connections = [await _connect(host, port) for _ in range(concurrency)]

    async def worker(connection: _Connection) -> None:
        for raw in pending:
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                status = await connection.exchange(raw)
            except (OSError, asyncio.IncompleteReadError) as exc:
                outcome.statuses[type(exc).__name__] += 1
                connection.close()
                connection = await _connect(host, port)
                continue
            outcome.latencies.append(time.perf_counter() - started)
            outcome.statuses[str(status)] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    outcome.seconds = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return outcome


async def open_loop(
    host: str, port: int, requests: Sequence[bytes], rate: float, max_connections: int = 512
) -> Outcome:
    """Start ``requests`` at ``rate`` per second on a schedule; latencies include the wait
    for a free connection, so a slow server cannot slow the schedule down."""
    outcome = Outcome()
    idle: asyncio.Queue[_Connection] = asyncio.Queue()
    opened = 0

    async def one(raw: bytes, scheduled: float) -> None:
        nonlocal opened
        if idle.empty() and opened < max_connections:
            opened += 1
            connection = await _connect(host, port)
        else:
            connection = await idle.get()
        try:
            status = await connection.exchange(raw)
        except (OSError, asyncio.IncompleteReadError) as exc:
            outcome.statuses[type(exc).__name__] += 1
            connection.close()
            opened -= 1
            return
        outcome.latencies.append(time.perf_counter() - scheduled)
        outcome.statuses[str(status)] += 1
        idle.put_nowait(connection)

    tasks = []
    t0 = time.perf_counter()
    for i, raw in enumerate(requests):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, scheduled)))
    await asyncio.gather(*tasks)
    outcome.seconds = time.perf_counter() - t0
    while not idle.empty():
        idle.get_nowait().close()
    return outcome


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; NaN when empty."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")
