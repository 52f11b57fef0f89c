"""Fixtures shared by the whole suite: a real anvil chain and a real deployment on it."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from web3 import Web3

from core import db
from core.settings import DEV_PRIVATE_KEYS
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from tests.helpers import TEST_CONFIG

# GNU readline, which the pytest process loads, exports COLUMNS=80 and LINES=24 to every
# process it starts, so pytest-xdist's workers start with them. The CLI's module-level Rich
# consoles would then fix their width at 80 when imported, and the CLI tests that set COLUMNS
# would read tables cut at 80 columns. The suite starts without a terminal size, whoever runs it.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

# The CI gate (.ci/run sets FAIRGOV_HYPOTHESIS_PROFILE=ci) replays the same examples on every
# run, so what landed is judged by the same tests each time; `./dev.sh test` and plain pytest
# draw new examples on every run, which is where new counter-examples turn up (each is then
# kept as a unit test, as test_disparities.py keeps the one CI drew in session 22).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("FAIRGOV_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def anvil_path() -> Path:
    return localchain.find_anvil()


@pytest.fixture(scope="session")
def local_chain(
    anvil_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[localchain.LocalChain]:
    """One automining anvil for the session; tests isolate themselves with snapshots.

    In memory only: dumping its state every few seconds stalled it for longer and longer as
    the session's chain grew."""
    with localchain.running(
        anvil=anvil_path, chain_dir=tmp_path_factory.mktemp("chain"), persist=False
    ) as node:
        yield node


@pytest.fixture(scope="session")
def w3(local_chain: localchain.LocalChain) -> Web3:
    return chain_client.connect(local_chain.rpc_url)


@pytest.fixture(scope="session")
def deployment(w3: Web3) -> deploy.Deployment:
    return deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)


@pytest.fixture
def isolated_chain(w3: Web3) -> Iterator[Web3]:
    """The session chain, reverted to its current state after the test."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield w3
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


#: Set by .ci/run when a PostgreSQL server answers; the DB tests then run on it too.
POSTGRES_URL = os.environ.get("FAIRGOV_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the server's maintenance database, to create and drop databases."""
    assert POSTGRES_URL is not None
    admin = db.make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


def _admin(admin: Engine, *statements: str) -> None:
    with admin.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))


def _on_server(database: str) -> str:
    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_test_url(postgres_admin: Engine) -> Iterator[str]:
    """A database of this test session's own on the server, dropped at the end, so that
    concurrent test runs never share tables."""
    name = f"fairgov_test_{os.getpid()}"
    _admin(postgres_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    yield _on_server(name)
    _admin(postgres_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: Engine) -> Iterator[str]:
    """The name of a database migrated once for the session; each test's database is
    created from it, which takes a fraction of the time of running every migration."""
    name = f"fairgov_template_{os.getpid()}"
    _admin(
        postgres_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"
    )
    template = db.make_engine(_on_server(name))
    db.upgrade(template)
    template.dispose()  # CREATE DATABASE … TEMPLATE needs it without connections
    yield name
    _admin(postgres_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once for the session; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("migrated") / "fairgov.db"
    template = db.make_engine(f"sqlite:///{path}")
    db.upgrade(template)
    template.dispose()
    return path


def _copy_sqlite(source: Path, target: Path) -> None:
    # The backup API copies the database whatever is left in its write-ahead log.
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@pytest.fixture(params=["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: SQLite always, PostgreSQL too when the server answers.

    Both are copies of a database migrated once per session, so every test starts from the
    same state the migrations give, whatever the test before it left behind."""
    if request.param == "sqlite":
        path = tmp_path / "fairgov.db"
        _copy_sqlite(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_test_url")
        _admin(
            request.getfixturevalue("postgres_admin"),
            f"DROP DATABASE IF EXISTS {make_url(url).database} WITH (FORCE)",
            f"CREATE DATABASE {make_url(url).database} "
            f"TEMPLATE {request.getfixturevalue('postgres_template')}",
        )
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


#: The slowest files, as ``--durations`` measures them (``./dev.sh test`` prints the 25
#: slowest tests): real process trees (Flower federations, ``fairgov run``, the demo's whole
#: loop, JVMs) and long property searches. They go first, so that with whole files per
#: worker (``--dist loadfile``) no slow file starts last and leaves a core idle. Slowest
#: first, except that the two federated files are kept apart: started together, one on each
#: worker, their nodes' processes fought for the two cores (test_governed.py took 40 s
#: longer, test_processes.py 90 s).
SLOW_FILES_FIRST = (
    "tests/integration/audit/federated/test_governed.py",
    "tests/integration/cli/test_demo.py",
    "tests/integration/cli/test_run.py",
    "tests/integration/audit/federated/test_processes.py",
    "tests/integration/bias_checks/test_frames_engines.py",
    "tests/integration/audit/test_impact.py",
    "tests/integration/api/test_schemathesis.py",
    "tests/integration/cli/test_run_durability.py",
    "tests/integration/governance/relay/test_relayer.py",
    "tests/unit/bias_checks/test_engine.py",
    "tests/integration/scheduler/test_withdrawal.py",
)


def pytest_configure(config: pytest.Config) -> None:
    """Hand files to the xdist workers in collection order, which puts
    :data:`SLOW_FILES_FIRST` first: by default xdist reorders them by their number of tests,
    which sent the federated files (three or four tests each) near the end."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run :data:`SLOW_FILES_FIRST` first, in that order; everything else keeps its order."""
    rank = {path: i for i, path in enumerate(SLOW_FILES_FIRST)}

    def key(item: pytest.Item) -> int:
        relative = item.nodeid.split("::", 1)[0]
        return rank.get(relative, len(rank))

    items.sort(key=key)  # stable: each file keeps its own order
