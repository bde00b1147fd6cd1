"""`baychain`: the command line.

::

    baychain init   --dir DIR [--crypto ecdsa|sm] [--dev-accounts N] [--chain-id ID]
    baychain node   --dir DIR [--rpc-host H] [--rpc-port P]   run the node (solo block production)
    baychain status --dir DIR [--json]         height, head hash, state root, suite, chain id

Expected errors (bad configuration, a damaged store, a port in use) print one
clear line on stderr and exit with status 1; they never show a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from baychain import __version__
from baychain.consensus.solo import SoloPolicy
from baychain.errors import BayChainError, ConfigError
from baychain.node.chain import Chain
from baychain.node.config import NodeConfig, load_config
from baychain.node.datadir import dev_accounts_document, init_node_dir, load_validator_key
from baychain.node.genesis import load_genesis
from baychain.node.mempool_config import MempoolConfig
from baychain.node.node import Node
from baychain.node.runner import SoloRunner
from baychain.node.status import read_status
from baychain.rpc.limits import RpcLimits
from baychain.rpc.server import RpcServer
from baychain.rpc.service import RpcService

log = logging.getLogger("baychain")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `baychain` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    try:
        result: int = args.command(args)
        return result
    except BayChainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baychain", description="BayChain consortium blockchain")
    parser.add_argument("--version", action="version", version=f"baychain {__version__}")
    commands = parser.add_subparsers(title="commands")

    init = commands.add_parser("init", help="create genesis, keys and config for a new chain")
    init.add_argument("--dir", type=Path, required=True, help="directory to create the chain in")
    init.add_argument(
        "--crypto",
        choices=("ecdsa", "sm"),
        default="ecdsa",
        help="signature and hash suite, fixed for the chain's life (default ecdsa)",
    )
    init.add_argument(
        "--dev-accounts",
        type=int,
        default=0,
        metavar="N",
        help="fund N well-known development accounts",
    )
    init.add_argument("--chain-id", type=int, default=None, help="EIP-155 chain id")
    init.add_argument(
        "--block-interval-ms",
        type=int,
        default=1000,
        help="milliseconds between blocks (default 1000)",
    )
    init.add_argument("--rpc-port", type=int, default=8545, help="JSON-RPC port (default 8545)")
    init.set_defaults(command=_cmd_init)

    node = commands.add_parser("node", help="run a node")
    node.add_argument("--dir", type=Path, required=True, help="the chain directory made by init")
    node.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"))
    node.add_argument(
        "--rpc-host",
        default=None,
        metavar="HOST",
        help="address JSON-RPC listens on, overriding [rpc] host (default 127.0.0.1; "
        "0.0.0.0 opens it to the network)",
    )
    node.add_argument(
        "--rpc-port", type=int, default=None, metavar="PORT", help="override [rpc] port"
    )
    node.set_defaults(command=_cmd_node)

    status = commands.add_parser("status", help="show the head of a node's ledger")
    status.add_argument("--dir", type=Path, required=True)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(command=_cmd_status)
    return parser


def _cmd_init(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {
        "crypto": args.crypto,
        "dev_accounts": args.dev_accounts,
        "block_interval_ms": args.block_interval_ms,
        "rpc_port": args.rpc_port,
    }
    if args.chain_id is not None:
        options["chain_id"] = args.chain_id
    result = init_node_dir(args.dir, **options)
    genesis = result.genesis
    print(f"Created a {genesis.crypto} chain (chain id {genesis.chain_id}) in {result.directory}")
    print(f"  validator: 0x{result.validator_address.hex()} (key encrypted in keys/validator.json)")
    if result.dev_accounts:
        print()
        print(
            "DEVELOPMENT ACCOUNTS: these keys are publicly known. Never use them on a real chain."
        )
        for account in dev_accounts_document(result.dev_accounts)["accounts"]:
            print(f"  {account['address']}  private key {account['private_key']}")
        print(f"  (also written to {result.directory / 'dev-accounts.json'})")
    print()
    print(f"Start it with: baychain node --dir {result.directory}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    config = load_config(args.dir / "node.toml")
    genesis = load_genesis(config.genesis_file)
    status = read_status(config, genesis)
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        for key, value in status.items():
            print(f"{key:>12}: {value}")
    return 0


def _cmd_node(args: argparse.Namespace) -> int:
    config = load_config(args.dir / "node.toml")
    if args.rpc_host is not None:
        config = replace(config, rpc_host=args.rpc_host)
    if args.rpc_port is not None:
        config = replace(config, rpc_port=args.rpc_port)
    _setup_logging(config, args.log_level)
    genesis = load_genesis(config.genesis_file)
    key = load_validator_key(config, genesis.crypto)
    chain = Chain.open(config.data_dir, genesis, map_size=config.map_size_bytes)
    try:
        validator = chain.suite.address(chain.suite.public_key(key))
        if validator not in {v.address for v in genesis.validators}:
            raise ConfigError(f"this node's key 0x{validator.hex()} is not a genesis validator")
        node = Node(chain, _mempool_config(config), validator, max_block_txs=config.block_max_txs)
        asyncio.run(_serve(node, config))
    finally:
        chain.close()
    return 0


async def _serve(node: Node, config: NodeConfig) -> None:
    genesis = node.genesis
    policy = SoloPolicy(genesis.block_interval_ms, full_block_txs=config.block_max_txs)
    runner = SoloRunner(node, policy)
    service = RpcService(node, RpcLimits())
    server = RpcServer(service, config.rpc_host, config.rpc_port)
    try:
        await server.start()
    except OSError as error:
        service.close()
        raise ConfigError(
            f"cannot listen on {config.rpc_host}:{config.rpc_port} ({error.strerror}); "
            "change [rpc] port in node.toml"
        ) from None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, runner.stop)
    status = node.status()
    log.info(
        "node %s ready: chain id %d, %s suite, head %d, JSON-RPC on %s",
        config.name,
        status.chain_id,
        status.crypto,
        status.height,
        server.url,
    )
    try:
        await runner.run()
    finally:
        await server.stop()
        service.close()
        log.info("node stopped at height %d", node.chain.height)


def _mempool_config(config: NodeConfig) -> MempoolConfig:
    return MempoolConfig(
        max_tx_bytes=config.mempool_max_tx_bytes,
        max_pool_txs=config.mempool_max_txs,
        max_pool_bytes=config.mempool_max_bytes,
        max_per_sender=config.mempool_max_per_sender,
    )


def _setup_logging(config: NodeConfig, level: str) -> None:
    config.log_file.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(formatter)
    to_file = logging.FileHandler(config.log_file)
    to_file.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [stream, to_file]
    root.setLevel(level)
    with contextlib.suppress(AttributeError):
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]


if __name__ == "__main__":
    sys.exit(main())
