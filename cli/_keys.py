"""Loading a holder's key from a key file, a keystore or (locally) a development account."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, ClassVar

import typer
from eth_account import Account

from cli.compose import Context, load_context
from core.errors import ConfigurationError
from core.settings import DEV_PRIVATE_KEYS, LOCAL_CHAIN_IDS

KeyFileOption = Annotated[
    Path | None, typer.Option("--key-file", help="File holding the hex private key.")
]
KeystoreOption = Annotated[
    Path | None,
    typer.Option(
        "--keystore",
        help="Encrypted JSON keystore; the password comes from FAIRGOV_KEYSTORE_PASSWORD "
        "or a prompt.",
    ),
]
DevAccountOption = Annotated[
    int | None,
    typer.Option("--dev-account", min=0, max=9, help="Development account N (local chains only)."),
]


class KeyUnavailable(ConfigurationError):
    code: ClassVar[str] = "key_unavailable"


def load_key(
    *, key_file: Path | None, keystore: Path | None, dev_account: int | None, chain_id: int
) -> str:
    """The private key chosen by exactly one of the three options."""
    chosen = [o for o in (key_file, keystore, dev_account) if o is not None]
    if len(chosen) != 1:
        raise KeyUnavailable(
            "choose the signing key with one of --key-file, --keystore or --dev-account"
        )
    if dev_account is not None:
        if chain_id not in LOCAL_CHAIN_IDS:
            raise KeyUnavailable(f"--dev-account works only on a local chain, not chain {chain_id}")
        return DEV_PRIVATE_KEYS[dev_account]
    if key_file is not None:
        return _from_key_file(key_file)
    assert keystore is not None
    return _from_keystore(keystore)


def _from_key_file(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise KeyUnavailable(f"cannot read the key file {path}: {exc.strerror}") from exc
    key = text.removeprefix("0x")
    if len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key):
        raise KeyUnavailable(f"{path} does not hold a 32-byte hex private key")
    return "0x" + key


def _from_keystore(path: Path) -> str:
    try:
        keystore = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise KeyUnavailable(f"cannot read the keystore {path}: {exc}") from exc
    password = os.environ.get("FAIRGOV_KEYSTORE_PASSWORD")
    if password is None:
        password = typer.prompt(f"password for {path.name}", hide_input=True)
    try:
        return "0x" + bytes(Account.decrypt(keystore, password)).hex()
    except ValueError as exc:
        raise KeyUnavailable(f"cannot decrypt {path}: wrong password or not a keystore") from exc


def context_and_signer(
    *, key_file: Path | None, keystore: Path | None, dev_account: int | None
) -> tuple[Context, str, str]:
    """The command context, and the chosen signer's private key and address."""
    ctx = load_context()
    key = load_key(
        key_file=key_file,
        keystore=keystore,
        dev_account=dev_account,
        chain_id=ctx.deployment.chain_id,
    )
    return ctx, key, str(Account.from_key(key).address)
