"""core.db.exclusive_transaction: one holder of a name at a time, until its transaction ends."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from core.db import exclusive_transaction


@pytest.fixture
def scratch(engine: Engine) -> Engine:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE scratch (n INTEGER)"))
    return engine


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(text("SELECT n FROM scratch ORDER BY n"))]


def _enter_in_thread(engine: Engine, name: str) -> tuple[threading.Thread, threading.Event]:
    entered = threading.Event()

    def enter() -> None:
        with Session(engine) as session, exclusive_transaction(session, name):
            entered.set()

    thread = threading.Thread(target=enter)
    thread.start()
    return thread, entered


def test_a_second_holder_of_the_name_waits_for_the_first_to_commit(scratch: Engine) -> None:
    with Session(scratch) as session:
        with exclusive_transaction(session, "dataset 1"):
            session.execute(text("INSERT INTO scratch (n) VALUES (1)"))
            thread, entered = _enter_in_thread(scratch, "dataset 1")
            assert not entered.wait(0.5)
        assert entered.wait(10)
        thread.join()
    assert _rows(scratch) == [1]


class _Refused(Exception):
    pass


def _insert_then_refuse(session: Session) -> None:
    with exclusive_transaction(session, "dataset 1"):
        session.execute(text("INSERT INTO scratch (n) VALUES (1)"))
        raise _Refused


def test_a_block_that_raises_is_rolled_back_and_frees_the_name(scratch: Engine) -> None:
    with Session(scratch) as session:
        with pytest.raises(_Refused):
            _insert_then_refuse(session)
        thread, entered = _enter_in_thread(scratch, "dataset 1")
        freed = entered.wait(5)  # while the session that raised is still open
    thread.join()
    assert freed
    assert _rows(scratch) == []


def test_on_postgresql_another_name_does_not_wait(scratch: Engine) -> None:
    if scratch.dialect.name != "postgresql":
        pytest.skip("SQLite has one write lock for every name")
    with Session(scratch) as session, exclusive_transaction(session, "dataset 1"):
        thread, entered = _enter_in_thread(scratch, "dataset 2")
        assert entered.wait(10)
        thread.join()
