"""Sign-In with Ethereum (EIP-4361) messages: parsing and signer recovery.

The message is plain text a wallet shows and signs with ``personal_sign`` (EIP-191)::

    example.com wants you to sign in with your Ethereum account:
    0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

    I accept the Terms of Service.

    URI: https://example.com/login
    Version: 1
    Chain ID: 1
    Nonce: 32891756abc
    Issued At: 2021-09-30T16:25:24Z
    Expiration Time: 2021-09-30T17:25:24Z

The statement (one line, optional) and every field after ``Issued At`` are optional, in that
order: Expiration Time, Not Before, Request ID, Resources. :func:`parse` is strict about
order and format; what the fields must *say* (domain, chain, times, nonce) is checked by
:mod:`api.auth` against the server's state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.address import is_checksum_address
from eth_utils.exceptions import ValidationError as EthValidationError

from api.errors import SiweRejected

HEADER_SUFFIX: Final = " wants you to sign in with your Ethereum account:"
_DOMAIN = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?([A-Za-z0-9.\-_~%!$&'()*+,;=:@\[\]]+)$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")
_CHAIN_ID = re.compile(r"^[1-9][0-9]{0,19}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")
_OPTIONAL: Final = ("Expiration Time", "Not Before", "Request ID")


@dataclass(frozen=True)
class SiweMessage:
    """The fields of one EIP-4361 message."""

    domain: str
    address: str
    statement: str | None
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = ()


def _bad(problem: str) -> SiweRejected:
    return SiweRejected("malformed", f"not an EIP-4361 message: {problem}")


def _time(value: str, name: str) -> datetime:
    if not _TIME.match(value):
        raise _bad(f"{name} {value!r} is not an RFC 3339 date-time")
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        raise _bad(f"{name} {value!r} is not a valid date-time") from None


def _field(lines: list[str], index: int, name: str) -> str:
    if index >= len(lines) or not lines[index].startswith(f"{name}: "):
        raise _bad(f"line {index + 1} must be '{name}: …'")
    return lines[index][len(name) + 2 :]


def parse(text: str) -> SiweMessage:
    """Parse an EIP-4361 message; :class:`~api.errors.SiweRejected` if it is not one.

    Examples
    --------
    >>> parse(message_text).chain_id  # doctest: +SKIP
    31337
    """
    lines = text.split("\n")
    if len(lines) < 8 or not lines[0].endswith(HEADER_SUFFIX):
        raise _bad(f"the first line must end with '{HEADER_SUFFIX.strip()}'")
    domain_match = _DOMAIN.match(lines[0][: -len(HEADER_SUFFIX)])
    if domain_match is None:
        raise _bad("the domain is not a valid authority")
    address = lines[1]
    if not _ADDRESS.match(address) or not is_checksum_address(address):
        raise _bad("the second line must be an EIP-55 checksummed address")
    if lines[2] != "":
        raise _bad("the address must be followed by an empty line")
    i = 3
    statement = None
    if not lines[i].startswith("URI: "):
        if lines[i] != "":  # a statement, then an empty line
            statement = lines[i]
            i += 1
        if i >= len(lines) or lines[i] != "":
            raise _bad("the statement must be followed by an empty line")
        i += 1
    uri = _field(lines, i, "URI")
    if not _URI.match(uri):
        raise _bad(f"URI {uri!r} is not an RFC 3986 URI")
    version = _field(lines, i + 1, "Version")
    if version != "1":
        raise _bad(f"version {version!r} is not 1")
    chain_id = _field(lines, i + 2, "Chain ID")
    if not _CHAIN_ID.match(chain_id):
        raise _bad(f"chain id {chain_id!r} is not a number")
    nonce = _field(lines, i + 3, "Nonce")
    if not _NONCE.match(nonce):
        raise _bad("the nonce must be at least 8 letters or digits")
    issued_at = _time(_field(lines, i + 4, "Issued At"), "Issued At")
    optional: dict[str, str] = {}
    i += 5
    for name in _OPTIONAL:
        if i < len(lines) and lines[i].startswith(f"{name}: "):
            optional[name] = lines[i][len(name) + 2 :]
            i += 1
    resources: list[str] = []
    if i < len(lines) and lines[i] == "Resources:":
        i += 1
        while i < len(lines) and lines[i].startswith("- "):
            resources.append(lines[i][2:])
            i += 1
    if i != len(lines):
        raise _bad(f"unexpected line {i + 1}: {lines[i][:40]!r}")
    expiration = optional.get("Expiration Time")
    not_before = optional.get("Not Before")
    return SiweMessage(
        domain=domain_match.group(1),
        address=address,
        statement=statement,
        uri=uri,
        version=version,
        chain_id=int(chain_id),
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=None if expiration is None else _time(expiration, "Expiration Time"),
        not_before=None if not_before is None else _time(not_before, "Not Before"),
        request_id=optional.get("Request ID"),
        resources=tuple(resources),
    )


def recover(text: str, signature: str) -> str:
    """The address whose EIP-191 ``personal_sign`` signature over ``text`` this is."""
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        if len(raw) != 65:
            raise ValueError("not 65 bytes")
        return str(Account.recover_message(encode_defunct(text=text), signature=raw))
    except (ValueError, TypeError, BadSignature, EthValidationError):
        raise SiweRejected("bad_signature", "the signature cannot be recovered") from None


def build(
    *,
    domain: str,
    address: str,
    uri: str,
    chain_id: int,
    nonce: str,
    issued_at: str,
    statement: str | None = None,
    expiration_time: str | None = None,
    not_before: str | None = None,
) -> str:
    """The text of a message with these fields, as a wallet library writes it."""
    lines = [f"{domain}{HEADER_SUFFIX}", address, ""]
    if statement is not None:
        lines += [statement, ""]
    else:
        lines += [""]
    lines += [
        f"URI: {uri}",
        "Version: 1",
        f"Chain ID: {chain_id}",
        f"Nonce: {nonce}",
        f"Issued At: {issued_at}",
    ]
    if expiration_time is not None:
        lines.append(f"Expiration Time: {expiration_time}")
    if not_before is not None:
        lines.append(f"Not Before: {not_before}")
    return "\n".join(lines)
