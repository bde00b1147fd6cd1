"""Fail when a module imports a part of BayChain from a higher layer (DESIGN.md).

Each top-level part of ``src/baychain`` has a rank; a module may import parts
of its own rank or lower. Some parts are layered inside too (:data:`INNER_RANKS`):
in ``baychain.node``, the modules and subpackages build on each other in the order
genesis < chain < reads < pool < node.py < solo, bft < host < localnet, and the
package's ``__init__`` (its face) sits above them all, so no submodule imports it.
Run: ``python scripts/check_layers.py``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "baychain"

RANKS: dict[str, int] = {
    # foundations every part may use
    "errors": 0,
    "primitives": 0,
    "_evm": 0,
    "artifacts": 0,  # compiled contracts: data plus a loader
    "files": 0,  # owner-only (and durable) file writes
    "__init__": 0,
    # protocol layer, bottom to top
    "crypto": 1,
    "codec": 1,
    "ledger": 2,
    "state": 3,
    "execution": 4,
    "consensus": 5,
    "network": 6,
    "node": 7,
    # extension layer
    "rpc": 8,
    "governance": 8,
    "crosschain": 8,
    "privacy": 8,
    "sdk": 9,
    # application service layer
    "apps": 10,
    "console": 10,
    "bench": 10,
    "audit": 10,
    "cli": 11,
    "__main__": 11,
}

NODE_RANKS: dict[str, int] = {
    "genesis": 0,  # the chain's parameters and first block
    "chain": 1,  # the committed chain: build, validate, commit blocks
    "reads": 2,  # what the chain answers readers (RPC)
    "pool": 3,  # the mempool and its intake
    "node": 4,  # node.py: a chain plus its pool
    "solo": 5,  # drivers: one-validator block production ...
    "bft": 5,  # ... and BFT consensus with its network
    "host": 6,  # the process: data dir, settings, status, assembly
    "localnet": 7,  # several nodes on one machine
    "__init__": 8,  # the package's face, re-exporting from the parts below
}

INNER_RANKS: dict[str, dict[str, int]] = {"node": NODE_RANKS}
"""Parts whose own modules and subpackages are layered, by the part's name."""


def part_of(module: str) -> str | None:
    """The top-level part named by a dotted module path inside baychain, if any."""
    parts = module.split(".")
    if parts[0] != "baychain":
        return None
    if len(parts) == 1 or (parts[1].startswith("__") and parts[1] != "__main__"):
        return "__init__"  # the package's metadata (__version__)
    return parts[1]


def inner_part_of(module: str, outer: str) -> str | None:
    """The module or subpackage of part ``outer`` that a dotted path names, if any
    (``"__init__"`` for the part's package itself)."""
    parts = module.split(".")
    if parts[:2] != ["baychain", outer]:
        return None
    return parts[2] if len(parts) > 2 else "__init__"


def imported_modules(
    tree: ast.AST, ranked: dict[str, dict[str, int]] | None = None
) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a module.

    ``from baychain import x`` names ``baychain.x``; so does ``from baychain.p import x``
    when ``p`` is layered inside (a key of ``ranked``) and ``x`` is one of its ranked parts.
    """
    ranked = INNER_RANKS if ranked is None else ranked
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            inner = ranked.get(node.module.removeprefix("baychain."), {})
            for alias in node.names:
                if node.module == "baychain" or alias.name in inner:
                    found.append((node.lineno, f"{node.module}.{alias.name}"))
                else:
                    found.append((node.lineno, node.module))
    return found


def _inner_problems(
    relative: Path, line: int, module: str, outer: str, ranks: dict[str, int]
) -> list[str]:
    """The problem, if any, of one import made by a module inside layered part ``outer``."""
    own = relative.parts[1].removesuffix(".py") if len(relative.parts) > 1 else "__init__"
    target = inner_part_of(module, outer)
    if target is None or target == own:
        return []
    if own not in ranks:
        return [f"{relative}: {outer} part {own!r} has no layer rank in {__file__}"]
    if target not in ranks:
        return [f"{relative}:{line}: imports unranked {outer} part {target!r}"]
    if ranks[target] > ranks[own]:
        return [
            f"{relative}:{line}: {outer}.{own} (rank {ranks[own]} in {outer}) imports {module} "
            f"(rank {ranks[target]}); a lower part never imports a higher one"
        ]
    return []


def check(package: Path = PACKAGE) -> list[str]:
    """Return one message per import that points upwards (or at an unranked part)."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        own = relative.parts[0].removesuffix(".py")
        if own not in RANKS:
            problems.append(f"{relative}: part {own!r} has no layer rank in {__file__}")
            continue
        for line, module in imported_modules(ast.parse(path.read_text(), str(path))):
            target = part_of(module)
            if target is None:
                continue
            if target == own:
                if own in INNER_RANKS:
                    problems += _inner_problems(relative, line, module, own, INNER_RANKS[own])
                continue
            if target not in RANKS:
                problems.append(f"{relative}:{line}: imports unranked part {target!r}")
            elif RANKS[target] > RANKS[own]:
                problems.append(
                    f"{relative}:{line}: {own} (layer {RANKS[own]}) imports {module} "
                    f"(layer {RANKS[target]}); a lower layer never imports a higher one"
                )
    return sorted(set(problems), key=problems.index)


if __name__ == "__main__":
    messages = check()
    for message in messages:
        print(message)
    print(f"layer check: {len(messages)} problem(s)")
    sys.exit(1 if messages else 0)
