"""`baychain`: the command line.

::

    baychain init   --dir DIR [--crypto ecdsa|sm] [--dev-accounts N] [--chain-id ID]
    baychain node   --dir DIR [--rpc-host H] [--rpc-port P]   run the node (solo with one genesis
                                               validator, BFT consensus with more)
    baychain status --dir DIR [--json]         height, head hash, state root, suite, chain id
    baychain up     [--dir DIR] [--nodes N] [--crypto ecdsa|sm] [--detach]   a local network
    baychain down   [--dir DIR]                stop what `up --detach` started
    baychain bench  [--workload W] [--compare hardhat,ganache] ...   measure tx/s and latency

Expected errors (bad configuration, a damaged store, a port in use) print one
clear line on stderr and exit with status 1; they never show a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from baychain import __version__
from baychain.bench.command import add_bench_parser
from baychain.errors import BayChainError, ConfigError
from baychain.node.genesis import load_genesis
from baychain.node.host.assemble import run_node
from baychain.node.host.datadir import (
    DEFAULT_BLOCK_INTERVAL_MS,
    dev_accounts_document,
    init_node_dir,
)
from baychain.node.host.settings import DEFAULT_RPC_PORT, load_config
from baychain.node.host.status import read_status
from baychain.node.localnet.launcher import COMMIT_TIMEOUT_S, STOP_TIMEOUT_S
from baychain.node.localnet.network_dir import (
    DEFAULT_BASE_P2P_PORT,
    DEFAULT_BASE_RPC_PORT,
    DEFAULT_DEV_ACCOUNTS,
)
from baychain.rpc.server import RpcEndpoint


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
        default=DEFAULT_BLOCK_INTERVAL_MS,
        help="milliseconds between blocks (default %(default)s)",
    )
    init.add_argument(
        "--rpc-port", type=int, default=DEFAULT_RPC_PORT, help="JSON-RPC port (default %(default)s)"
    )
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

    _add_up_down(commands)

    status = commands.add_parser("status", help="show the head of a node's ledger")
    status.add_argument("--dir", type=Path, required=True)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(command=_cmd_status)

    add_bench_parser(commands)
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


def _add_up_down(commands: Any) -> None:
    up = commands.add_parser(
        "up", help="run a whole consortium on this machine (default 4 validators)"
    )
    up.add_argument(
        "--dir", type=Path, default=Path("baychain-net"), help="network directory (./baychain-net)"
    )
    up.add_argument(
        "--nodes", type=int, default=None, metavar="N", help="validators (default 4; 1 = solo)"
    )
    up.add_argument("--crypto", choices=("ecdsa", "sm"), default=None, help="default ecdsa")
    up.add_argument(
        "--dev-accounts",
        type=int,
        default=DEFAULT_DEV_ACCOUNTS,
        metavar="N",
        help="default %(default)s",
    )
    up.add_argument("--chain-id", type=int, default=None, help="EIP-155 chain id")
    up.add_argument(
        "--block-interval-ms",
        type=int,
        default=DEFAULT_BLOCK_INTERVAL_MS,
        help="default %(default)s",
    )
    up.add_argument(
        "--base-rpc-port",
        type=int,
        default=DEFAULT_BASE_RPC_PORT,
        help="node I gets this + I (default %(default)s)",
    )
    up.add_argument(
        "--base-p2p-port",
        type=int,
        default=DEFAULT_BASE_P2P_PORT,
        help="node I gets this + I (default %(default)s)",
    )
    up.add_argument(
        "--detach", action="store_true", help="return once the network commits; leave it running"
    )
    up.add_argument(
        "--timeout",
        type=float,
        default=COMMIT_TIMEOUT_S,
        help="seconds to wait for a block (default %(default)s)",
    )
    up.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"))
    up.set_defaults(command=_cmd_up)

    down = commands.add_parser("down", help="stop the network `baychain up --detach` started")
    down.add_argument("--dir", type=Path, default=Path("baychain-net"))
    down.add_argument(
        "--timeout",
        type=float,
        default=STOP_TIMEOUT_S,
        help="seconds before SIGKILL (default %(default)s)",
    )
    down.set_defaults(command=_cmd_down)


def _cmd_up(args: argparse.Namespace) -> int:
    from baychain.node.localnet import launcher
    from baychain.node.localnet.network_dir import init_network_dir, read_network_dir

    directory = args.dir.resolve()
    if (directory / "genesis.json").exists():
        layout = read_network_dir(directory)
        count = len(layout.nodes)
        if args.nodes is not None and args.nodes != count:
            raise ConfigError(
                f"{directory} holds a {count}-node network; drop --nodes to restart it, "
                "or use another --dir for a new one"
            )
        if args.crypto is not None and args.crypto != layout.genesis.crypto:
            raise ConfigError(
                f"{directory} holds a {layout.genesis.crypto} chain, not {args.crypto}"
            )
        running = launcher.running_pids(directory)
        if running:
            raise ConfigError(
                f"the network in {directory} is already running ({', '.join(running)}); "
                f"stop it with `baychain down --dir {args.dir}`"
            )
        print(f"Restarting the {count}-node network in {directory}")
    else:
        options: dict[str, Any] = {
            "nodes": 4 if args.nodes is None else args.nodes,
            "crypto": args.crypto or "ecdsa",
            "dev_accounts": args.dev_accounts,
            "block_interval_ms": args.block_interval_ms,
            "base_rpc_port": args.base_rpc_port,
            "base_p2p_port": args.base_p2p_port,
        }
        if args.chain_id is not None:
            options["chain_id"] = args.chain_id
        launcher.check_ports_free_at(options["nodes"], args.base_rpc_port, args.base_p2p_port)
        layout = init_network_dir(directory, **options)
        print(f"Created a {len(layout.nodes)}-node {layout.genesis.crypto} network in {directory}")
    print(f"Starting {len(layout.nodes)} node(s); logs in {directory}/node*/logs/")
    network = launcher.start_network(layout, log_level=args.log_level)
    try:
        network.wait_until_committing(_height_probe, timeout_s=args.timeout)
    except BaseException:
        network.stop()
        raise
    _print_network(layout)
    if args.detach:
        print(f"\nRunning in the background. Stop it with: baychain down --dir {args.dir}")
        return 0
    return network.supervise(announce="\nPress Ctrl-C to stop the network.")


def _height_probe(url: str) -> int | None:
    from baychain.sdk.client import Client

    try:
        return Client(url, timeout_s=2.0).block_number()
    except (OSError, ValueError, BayChainError):
        return None


def _print_network(layout: Any) -> None:
    genesis = layout.genesis
    print(f"\nBayChain network up: chain id {genesis.chain_id}, {genesis.crypto} suite")
    for node in layout.nodes:
        print(f"  {node.name}  JSON-RPC {node.rpc_url}  WebSocket {node.ws_url}")
        print(f"{'':>8}p2p {node.p2p_address}  data {node.directory}")
    print(f"  network description for scripts: {layout.network_file}")
    if layout.dev_accounts:
        print("\nDEVELOPMENT KEYS: publicly known, funded in genesis; never use them for real.")
        for account in dev_accounts_document(layout.dev_accounts)["accounts"]:
            print(f"  {account['address']}  private key {account['private_key']}")


def _cmd_down(args: argparse.Namespace) -> int:
    from baychain.node.localnet import launcher

    reports = launcher.down(args.dir.resolve(), timeout_s=args.timeout)
    for report in reports:
        pid = f" (pid {report.pid})" if report.pid is not None else ""
        print(f"  {report.name}: {report.outcome}{pid}")
    stopped = sum(r.outcome != "not running" for r in reports)
    print(f"stopped {stopped} of {len(reports)} node(s) in {args.dir}")
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
    run_node(
        args.dir,
        services=(RpcEndpoint,),
        rpc_host=args.rpc_host,
        rpc_port=args.rpc_port,
        log_level=args.log_level,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
