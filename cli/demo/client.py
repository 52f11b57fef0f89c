"""A small client of the fairgov HTTP API, and wallet-style signing, for ``fairgov demo``.

It speaks only HTTP, as any third-party client would: it signs EIP-4361 sign-in messages
with ``personal_sign``, EIP-712 typed data as ``eth_signTypedData_v4`` does, and propose
transactions as ``eth_signTransaction`` does, all locally with the signer's key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlparse

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

Json = dict[str, Any]

_REQUEST_SECONDS: Final = 30.0
_SIWE_STATEMENT: Final = "Sign in to fairgov (demo)."


class ApiUnreachable(Exception):
    """Nothing answers at the API URL, or it does not answer like fairgov."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        super().__init__(f"no fairgov API answers at {url} ({problem})")


class ApiRefused(Exception):
    """The API answered with an error: its status, stable code and message."""

    def __init__(self, method: str, path: str, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(f"{method} {path} answered {status} {code}: {message}")


class NodeRefused(Exception):
    """The local chain's node did not answer a JSON-RPC call, or refused it."""

    def __init__(self, rpc_url: str, method: str, problem: str) -> None:
        super().__init__(f"the local chain at {rpc_url} did not do {method} ({problem})")


def node_call(rpc_url: str, method: str, params: list[Any]) -> Any:
    """One JSON-RPC call to the local chain's node (anvil); its result."""
    payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    try:
        answer = httpx.post(rpc_url, json=payload, timeout=_REQUEST_SECONDS).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise NodeRefused(rpc_url, method, type(exc).__name__) from None
    if not isinstance(answer, dict) or "result" not in answer:
        error = answer.get("error") if isinstance(answer, dict) else answer
        raise NodeRefused(rpc_url, method, str(error))
    return answer["result"]


def address_of(key: str) -> str:
    """The EIP-55 address of a private key."""
    return str(Account.from_key(key).address)


def sign_typed(key: str, typed: Json) -> str:
    """Sign EIP-712 typed data exactly as a wallet's ``eth_signTypedData_v4`` does."""
    signed = Account.sign_message(encode_typed_data(full_message=typed), key)
    return "0x" + bytes(signed.signature).hex()


def personal_sign(key: str, text: str) -> str:
    """Sign text as a wallet's ``personal_sign`` (EIP-191) does."""
    signed = Account.sign_message(encode_defunct(text=text), key)
    return "0x" + bytes(signed.signature).hex()


def sign_transaction(key: str, transaction: Json) -> str:
    """Sign an unsigned transaction as ``eth_signTransaction`` does; returns the raw hex."""
    return str(Account.sign_transaction(transaction, key).raw_transaction.to_0x_hex())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def siwe_message(*, domain: str, uri: str, address: str, chain_id: int, nonce: str) -> str:
    """An EIP-4361 message valid for ten minutes from now."""
    now = datetime.now(UTC)
    return "\n".join(
        [
            f"{domain} wants you to sign in with your Ethereum account:",
            address,
            "",
            _SIWE_STATEMENT,
            "",
            f"URI: {uri}",
            "Version: 1",
            f"Chain ID: {chain_id}",
            f"Nonce: {nonce}",
            f"Issued At: {_iso(now)}",
            f"Expiration Time: {_iso(now + timedelta(minutes=10))}",
        ]
    )


class DemoClient:
    """The fairgov API at ``base_url``; every method is one request and returns its JSON."""

    def __init__(self, base_url: str, *, timeout: float = _REQUEST_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> DemoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnreachable(self.base_url, type(exc).__name__) from None
        if response.status_code >= 400:
            raise _refusal(method, path, response, self.base_url)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Json:
        response = self._request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            raise ApiUnreachable(self.base_url, f"{path} did not answer JSON") from None
        if not isinstance(body, dict):
            raise ApiUnreachable(self.base_url, f"{path} did not answer a JSON object")
        return body

    # -- public reads ---------------------------------------------------------------------

    def governance(self) -> Json:
        """``GET /v1/governance``: chain id, addresses, voting parameters."""
        return self._json("GET", "/v1/governance")

    def policy(self) -> Json:
        """``GET /v1/policy``: the TrainingPolicy now."""
        return self._json("GET", "/v1/policy")

    def voter(self, address: str) -> Json:
        """``GET /v1/voters/{address}``: balance, voting power, delegate."""
        return self._json("GET", f"/v1/voters/{address}")

    def proposal(self, proposal_id: str) -> Json | None:
        """``GET /v1/proposals/{id}``, or None until the index has seen it."""
        try:
            return self._json("GET", f"/v1/proposals/{proposal_id}")
        except ApiRefused as exc:
            if exc.status == 404:
                return None
            raise

    def protection(self) -> Json:
        """``GET /v1/governance/protection``: guardian, supermajority, voting periods."""
        return self._json("GET", "/v1/governance/protection")

    def impact(self, actions: list[Json]) -> Json:
        """``POST /v1/proposals/impact``: what a draft would do to every audited model."""
        return self._json("POST", "/v1/proposals/impact", json={"actions": actions})

    def relay(self, relay_id: int) -> Json:
        """``GET /v1/relay/{id}``: where an accepted message is."""
        return self._json("GET", f"/v1/relay/{relay_id}")

    def audit(self, run_id: str) -> Json:
        """``GET /v1/audits/{run_id}``: the run's summary."""
        return self._json("GET", f"/v1/audits/{run_id}")

    def audits(self, model: str) -> Json:
        """``GET /v1/audits?model=``: the model's audit runs, newest first."""
        return self._json("GET", "/v1/audits", params={"model": model})

    def models(self) -> Json:
        """``GET /v1/models``: model versions and their gate status."""
        return self._json("GET", "/v1/models", params={"limit": 200})

    def rewards(self, provider: str) -> Json:
        """``GET /v1/rewards?provider=``: the provider's epochs, amounts and statuses."""
        return self._json("GET", "/v1/rewards", params={"provider": provider})

    def verification(self, run_id: str) -> Json:
        """``GET /v1/reports/{run_id}/verification``: the report against its anchor."""
        return self._json("GET", f"/v1/reports/{run_id}/verification")

    # -- sign-in --------------------------------------------------------------------------

    def login(self, key: str) -> str:
        """Sign in with Ethereum as ``key``'s address; returns the session token."""
        nonce = self._json("GET", "/v1/auth/nonce")
        url = urlparse(self.base_url)
        text = siwe_message(
            domain=nonce["domain"] or url.netloc,
            uri=f"{nonce.get('uri') or self.base_url}/login",
            address=address_of(key),
            chain_id=int(nonce["chain_id"]),
            nonce=nonce["nonce"],
        )
        body = {"message": text, "signature": personal_sign(key, text)}
        return str(self._json("POST", "/v1/auth/login", json=body)["token"])

    def me(self, token: str) -> Json:
        """``GET /v1/auth/me``: the signed-in address and its roles."""
        return self._json("GET", "/v1/auth/me", token=token)

    # -- writes ---------------------------------------------------------------------------

    def register_dataset(self, manifest: Json, token: str) -> Json:
        """``POST /v1/datasets`` (operator): the stored manifest."""
        return self._json("POST", "/v1/datasets", json=manifest, token=token)

    def offer(self, key: str, manifest_hash: str, name: str) -> Json:
        """The provider ``key`` signs an offer of a registered manifest in its wallet; the
        checked ``allow_dataset`` action comes back."""
        body = {"manifest_hash": manifest_hash, "provider": address_of(key)}
        prepared = self._json("POST", "/v1/providers/offers/prepare", json=body)
        signed = {
            "message": prepared["message"],
            "signature": sign_typed(key, prepared["typed_data"]),
            "name": name,
        }
        return self._json("POST", "/v1/providers/offers", json=signed)

    def withdraw(self, key: str, dataset_id: str) -> Json:
        """The provider ``key`` signs a withdrawal of ``dataset_id`` in their wallet and posts
        it; returns the relay record (the relayer pays the gas)."""
        params = {"dataset_id": dataset_id, "provider": address_of(key)}
        typed = self._json("GET", "/v1/providers/withdrawals/typed-data", params=params)
        body = {"message": typed["message"], "signature": sign_typed(key, typed["typed_data"])}
        return self._json("POST", "/v1/providers/withdrawals", json=body)

    def claim(self, key: str, epoch: int) -> Json:
        """The provider ``key`` signs their claim of ``epoch`` in their wallet and posts it;
        returns the relay record (the relayer pays the gas)."""
        account = address_of(key)
        path = f"/v1/rewards/epochs/{epoch}"
        typed = self._json("GET", f"{path}/claim", params={"account": account})
        body = {
            "account": account,
            "amount": typed["amount"],
            "deadline": typed["deadline"],
            "proof": typed["proof"],
            "signature": sign_typed(key, typed["typed_data"]),
        }
        return self._json("POST", f"{path}/claims", json=body)

    def delegate(self, key: str, delegatee: str, expiry: int) -> Json:
        """Sign a gasless delegation with ``key`` and post it; returns the relay record."""
        delegator = address_of(key)
        params = {"delegator": delegator, "delegatee": delegatee, "expiry": expiry}
        typed = self._json("GET", "/v1/delegations/typed-data", params=params)
        body = {
            **params,
            "nonce": typed["nonce"],
            "signature": sign_typed(key, typed["typed_data"]),
        }
        return self._json("POST", "/v1/delegations", json=body)

    def propose(self, key: str, description: str, actions: list[Json]) -> Json:
        """Prepare a proposal, sign its transaction with ``key`` and submit it."""
        body = {"proposer": address_of(key), "description": description, "actions": actions}
        prepared = self._json("POST", "/v1/proposals/prepare", json=body)
        raw = sign_transaction(key, prepared["rpc_transaction"])
        return self._json("POST", "/v1/proposals", json={"raw_transaction": raw})

    def vote(self, key: str, proposal_id: str, support: int, reason: str | None = None) -> Json:
        """Sign a gasless ballot with ``key`` and post it; returns the relay record."""
        voter = address_of(key)
        params: dict[str, Any] = {"voter": voter, "support": support}
        if reason is not None:
            params["reason"] = reason
        typed = self._json("GET", f"/v1/proposals/{proposal_id}/ballot", params=params)
        body = {
            **params,
            "nonce": typed["nonce"],
            "signature": sign_typed(key, typed["typed_data"]),
        }
        return self._json("POST", f"/v1/proposals/{proposal_id}/votes", json=body)

    def guardian_cancel(self, key: str, proposal_id: str) -> Json:
        """Prepare the guardian's ``cancel`` transaction, sign it with ``key`` and submit it."""
        path = f"/v1/proposals/{proposal_id}/guardian-cancel"
        prepared = self._json("POST", f"{path}/prepare", json={"guardian": address_of(key)})
        raw = sign_transaction(key, prepared["rpc_transaction"])
        return self._json("POST", path, json={"raw_transaction": raw})

    def start_audit(self, spec: Json, token: str) -> str:
        """``POST /v1/audits`` (operator): start a run; returns its run id."""
        return str(self._json("POST", "/v1/audits", json=spec, token=token)["run_id"])

    def report(self, run_id: str, fmt: str, token: str) -> httpx.Response:
        """``GET /v1/reports/{run_id}.{fmt}`` (auditor): the file with its anchor headers."""
        return self._request("GET", f"/v1/reports/{run_id}.{fmt}", token=token)


def _refusal(method: str, path: str, response: httpx.Response, url: str) -> Exception:
    try:
        error = response.json()["error"]
        return ApiRefused(method, path, response.status_code, error["code"], error["message"])
    except (ValueError, KeyError, TypeError):
        return ApiUnreachable(url, f"{method} {path} answered {response.status_code}")
