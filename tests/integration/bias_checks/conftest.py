"""Session-wide engines for the frame tests: a real Dask LocalCluster and a local SparkSession."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A two-worker LocalCluster in separate processes, as a deployment would run it."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """A local SparkSession; skipped when Java cannot start here."""
    from pyspark.sql import SparkSession

    try:
        session = (
            SparkSession.builder.master("local[1]")
            .appName("fairgov-frames")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "1")
            .getOrCreate()
        )
    except Exception as error:  # any JVM start failure means: skip, saying why
        pytest.skip(f"PySpark cannot start a JVM here: {error}")
    yield session
    session.stop()
