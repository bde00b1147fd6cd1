"""Fail when a module imports a part of BayChain from a higher layer (DESIGN.md).

Each top-level part of ``src/baychain`` has a rank; a module may import parts
of its own rank or lower. Run: ``python scripts/check_layers.py``.
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


def part_of(module: str) -> str | None:
    """The top-level part named by a dotted module path inside baychain, if any."""
    parts = module.split(".")
    if parts[0] != "baychain":
        return None
    if len(parts) == 1 or (parts[1].startswith("__") and parts[1] != "__main__"):
        return "__init__"  # the package's metadata (__version__)
    return parts[1]


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in a module."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "baychain":
                found += [(node.lineno, f"baychain.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def check() -> list[str]:
    """Return one message per import that points upwards (or at an unranked part)."""
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        own = relative.parts[0].removesuffix(".py")
        if own not in RANKS:
            problems.append(f"{relative}: part {own!r} has no layer rank in {__file__}")
            continue
        for line, module in imported_modules(ast.parse(path.read_text(), str(path))):
            target = part_of(module)
            if target is None or target == own:
                continue
            if target not in RANKS:
                problems.append(f"{relative}:{line}: imports unranked part {target!r}")
            elif RANKS[target] > RANKS[own]:
                problems.append(
                    f"{relative}:{line}: {own} (layer {RANKS[own]}) imports {module} "
                    f"(layer {RANKS[target]}); a lower layer never imports a higher one"
                )
    return problems


if __name__ == "__main__":
    messages = check()
    for message in messages:
        print(message)
    print(f"layer check: {len(messages)} problem(s)")
    sys.exit(1 if messages else 0)
