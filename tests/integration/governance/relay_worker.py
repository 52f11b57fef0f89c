"""A relayer process for the crash test: relays the outbox until idle, then exits 0.

Usage: python relay_worker.py DATABASE_URL RPC_URL DEPLOYMENT_JSON
"""

import sys
from pathlib import Path

from core import db
from governance.chain import deploy
from governance.chain import node as chain_client
from governance.relay.config import RelayerConfig
from governance.relay.relayer import Relayer
from tests.integration.governance.relay_support import RELAYER_KEY


def main() -> None:
    database_url, rpc_url, deployment_file = sys.argv[1:4]
    engine = db.make_engine(database_url)
    deployment = deploy.load(Path(deployment_file))
    assert deployment is not None
    w3 = chain_client.connect(rpc_url)
    relayer = Relayer(
        engine, w3, deployment, RELAYER_KEY, rpc_url=rpc_url, config=RelayerConfig(batch_size=25)
    )
    relayer.start()
    relayer.run_until_idle()
    print("idle", flush=True)


if __name__ == "__main__":
    main()
