"""The compiled artifacts of BayChain's own contracts, shipped inside the package.

Each ``<Name>.json`` here is written by ``node contracts/build.mjs`` from the
Solidity sources in ``contracts/src/`` with the pinned solc, and CI checks that
they still match (``node contracts/build.mjs --check``). Keeping them in the
package means a node, the SDK and the benchmark never need a compiler.

Glossary:

- *bytecode*: the creation code a deploying transaction carries (constructor
  arguments are appended to it, ABI-encoded);
- *deployed bytecode*: the runtime code the creation code leaves at the new
  contract's address;
- *ABI*: the JSON interface description (Solidity ABI specification, "JSON").

Unknown names raise :class:`UnknownArtifact`, which lists the names there are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from baychain.errors import NotFound

__all__ = ["Artifact", "UnknownArtifact", "artifact_names", "load_artifact"]

_SUFFIX = ".json"


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: its name, ABI, creation code and runtime code."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    deployed_bytecode: bytes


class UnknownArtifact(NotFound):
    """No artifact is called ``name``; ``available`` lists the ones there are."""

    def __init__(self, name: str, available: tuple[str, ...]) -> None:
        self.name = name
        self.available = available
        super().__init__(
            f"no contract artifact named {name!r}; available: {', '.join(available) or 'none'}"
        )


def artifact_names() -> tuple[str, ...]:
    """The names of the shipped artifacts, sorted (``"Child"``, ``"Evidence"``, ...)."""
    return tuple(
        sorted(
            entry.name.removesuffix(_SUFFIX)
            for entry in resources.files(__name__).iterdir()
            if entry.name.endswith(_SUFFIX)
        )
    )


def load_artifact(name: str) -> Artifact:
    """Read the artifact of the contract ``name`` (e.g. ``"Token"``, ``"Evidence"``).

    Raises :class:`UnknownArtifact` when there is none by that name.
    """
    available = artifact_names()
    if name not in available:
        raise UnknownArtifact(name, available)
    raw = json.loads(resources.files(__name__).joinpath(name + _SUFFIX).read_text("utf-8"))
    return Artifact(
        name=name,
        abi=tuple(raw["abi"]),
        bytecode=bytes.fromhex(raw["bytecode"].removeprefix("0x")),
        deployed_bytecode=bytes.fromhex(raw["deployedBytecode"].removeprefix("0x")),
    )
