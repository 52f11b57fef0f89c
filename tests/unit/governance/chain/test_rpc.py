"""The JSON-RPC batch client against a small real HTTP server on loopback."""

from __future__ import annotations

import gc
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from governance.chain.rpc import RpcBatch
from governance.errors import ChainUnreachable


class _Node(ThreadingHTTPServer):
    """Answers JSON-RPC batches: ``echo`` returns its params, anything else is an error.

    ``mode`` makes it misbehave: "drop" closes every connection after answering (as a
    node's idle timeout would, without saying so), "500" answers HTTP 500, "garbage"
    answers a body that is not JSON.
    """

    daemon_threads = True
    mode = "ok"
    connections = 0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    server: _Node

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_POST(self) -> None:
        calls = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.server.mode == "500":
            body = b"node error"
            self.send_response(500)
        elif self.server.mode == "garbage":
            body = b"<html>not json</html>"
            self.send_response(200)
        else:
            answers = [
                {"jsonrpc": "2.0", "id": c["id"], "result": c["params"]}
                if c["method"] == "echo"
                else {"jsonrpc": "2.0", "id": c["id"], "error": {"message": "no such method"}}
                for c in calls
            ]
            body = json.dumps(answers).encode()
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.server.mode == "drop":
            self.close_connection = True

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def node() -> Iterator[_Node]:
    server = _Node(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: _Node) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/"


def test_answers_come_back_in_order_each_on_its_own(node: _Node):
    rpc = RpcBatch(_url(node))
    first, second, third = rpc.call([("echo", [1]), ("nope", []), ("echo", ["x"])])
    assert (first.ok, first.result) == (True, [1])
    assert (second.ok, second.error_message) == (False, "no such method")
    assert third.result == ["x"]
    rpc.close()


def test_one_connection_is_kept_alive_across_calls(node: _Node):
    rpc = RpcBatch(_url(node))
    for i in range(5):
        assert rpc.one("echo", [i]).result == [i]
    assert node.connections == 1
    rpc.close()


def test_a_connection_the_node_closed_is_reopened_once(node: _Node):
    node.mode = "drop"
    rpc = RpcBatch(_url(node))
    for i in range(3):
        assert rpc.one("echo", [i]).result == [i]
    assert node.connections == 3
    rpc.close()


@pytest.mark.parametrize("mode", ["500", "garbage"])
def test_a_bad_answer_is_chain_unreachable(node: _Node, mode: str):
    node.mode = mode
    rpc = RpcBatch(_url(node))
    with pytest.raises(ChainUnreachable):
        rpc.one("echo", [])
    rpc.close()


def test_a_node_that_is_not_there_is_chain_unreachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ChainUnreachable):
        RpcBatch(f"http://127.0.0.1:{port}", timeout=2).one("echo", [])


def test_a_url_that_is_not_http_is_chain_unreachable():
    with pytest.raises(ChainUnreachable):
        RpcBatch("ws://127.0.0.1:8545").one("echo", [])


def test_a_forgotten_client_closes_its_connection(node: _Node):
    rpc = RpcBatch(_url(node))
    rpc.one("echo", [])
    connection = rpc._slot[0]
    assert connection is not None
    assert connection.sock is not None
    del rpc
    gc.collect()
    assert connection.sock is None
