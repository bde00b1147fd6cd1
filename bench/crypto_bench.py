"""Throughput of the two crypto suites on one core.

Run: ``python3 bench/crypto_bench.py [--seconds S]`` (from the repo root; it
adds ``src`` to the import path itself).

Each figure is operations per second of a single thread calling the public
API in a loop for about S seconds of CPU time (default 1) over a fixed 32-byte
message. "ops/s per core" divides by the process's CPU time, so it holds on a
machine shared with other work; "ops/s wall" divides by elapsed time. With N
cores, expect at most N times the per-core rate for work spread over
processes (the C calls release the GIL, so threads also scale).

- ecdsa: ``EcdsaSuite.sign`` (keccak + RFC 6979 signature), ``verify``
  (recover and compare), ``recover_public_key_from_digest``. Recovery runs in
  our Rust extension (libsecp256k1 through the ``secp256k1`` crate); the rows
  below it give the bare extension call, coincurve's recovery it replaced (the
  same libsecp256k1 through cffi), and ``recover_signers`` over a batch of
  ``SIGNER_BATCH`` messages (keccak of the message, recovery and address: what
  the ledger does for each Ethereum transaction), counted per signature.
- sm: ``SmSuite.sign`` and ``verify`` (SM2 with SM3(Z || M)), and
  ``signer_address`` (what the ledger does for each SM transaction). Verify
  runs in our Rust extension; the rows below it give the bare extension call
  and the Tongsuo verifier it replaced (``sm2.tongsuo_verify``), the latter with
  the parsed public key cached (a repeat sender) and cold.
- hashes: keccak-256 and SM3 of 32 bytes (the size of a Merkle node half).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from coincurve import PublicKey

from baychain import _evm
from baychain.crypto import get_suite, keccak256
from baychain.crypto import sm2 as sm2_module
from baychain.crypto.ecdsa import recover_public_key_from_digest, recover_signers
from baychain.crypto.sm3 import sm3

BATCH = 200
MESSAGE = bytes(range(32))
SIGNER_BATCH = 100
"""Signatures per ``recover_signers`` call (about a JSON-RPC batch or an intake chunk)."""


def rate(operation: Callable[[], object], seconds: float) -> tuple[float, float]:
    """Return (calls per CPU second, calls per wall second) of ``operation``.

    The loop runs until ``seconds`` of this process's CPU time have passed, so
    the first figure is the per-core rate even when other processes share the
    machine; the second shows what the contended machine actually delivered.
    """
    for _ in range(BATCH // 10):
        operation()  # warm caches and lazy initialisation
    calls = 0
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    while True:
        for _ in range(BATCH):
            operation()
        calls += BATCH
        cpu = time.process_time() - cpu_start
        if cpu >= seconds:
            return calls / cpu, calls / (time.perf_counter() - wall_start)


def cpu_model() -> str:
    """Return the CPU model name when /proc/cpuinfo gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def versions() -> str:
    names = ("coincurve", "safe-pysha3", "tongsuopy", "cryptography")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (missing)")
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per figure")
    args = parser.parse_args()
    seconds: float = args.seconds

    print("BayChain crypto throughput, one thread (operations per second per core)")
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical CPUs; wall figures vary with load)")
    print(f"Python {platform.python_version()}; {versions()}")
    print(f"message: 32 bytes; about {seconds:g} CPU-second per figure")
    print()

    ecdsa = get_suite("ecdsa")
    e_key = ecdsa.new_private_key()
    e_pub = ecdsa.public_key(e_key)
    e_sig = ecdsa.sign(e_key, MESSAGE)
    e_digest = keccak256(MESSAGE)
    e_messages = [MESSAGE + i.to_bytes(4, "big") for i in range(SIGNER_BATCH)]
    e_signatures = [ecdsa.sign(e_key, message) for message in e_messages]

    sm = get_suite("sm")
    s_key = sm.new_private_key()
    s_pub = sm.public_key(s_key)
    s_sig = sm.sign(s_key, MESSAGE)

    tongsuo_verify = sm2_module.tongsuo_verify

    def tongsuo_verify_cold() -> bool:
        sm2_module._load_public_key.cache_clear()
        return tongsuo_verify(s_pub, MESSAGE, s_sig)

    def coincurve_recover() -> bytes:
        point: bytes = PublicKey.from_signature_and_message(e_sig, e_digest, hasher=None).format(
            compressed=False
        )
        return point

    # (suite, operation, one call, signatures per call)
    rows: list[tuple[str, str, Callable[[], object], int]] = [
        ("ecdsa", "sign", lambda: ecdsa.sign(e_key, MESSAGE), 1),
        ("ecdsa", "verify", lambda: ecdsa.verify(e_pub, MESSAGE, e_sig), 1),
        ("ecdsa", "recover", lambda: recover_public_key_from_digest(e_digest, e_sig), 1),
        ("ecdsa", "recover: _evm", lambda: _evm.secp256k1_recover(e_digest, e_sig), 1),
        ("ecdsa", "recover: coincurve", coincurve_recover, 1),
        (
            "ecdsa",
            f"recover_signers (x{SIGNER_BATCH})",
            lambda: recover_signers(e_messages, e_signatures),
            SIGNER_BATCH,
        ),
        ("sm", "sign", lambda: sm.sign(s_key, MESSAGE), 1),
        ("sm", "verify", lambda: sm.verify(s_pub, MESSAGE, s_sig), 1),
        ("sm", "signer_address", lambda: sm.signer_address(MESSAGE, s_sig, s_pub), 1),
        ("sm", "verify: _evm.sm2_verify", lambda: _evm.sm2_verify(s_pub, MESSAGE, s_sig), 1),
        ("sm", "verify: Tongsuo (cached)", lambda: tongsuo_verify(s_pub, MESSAGE, s_sig), 1),
        ("sm", "verify: Tongsuo (cold)", tongsuo_verify_cold, 1),
        ("hash", "keccak-256", lambda: keccak256(MESSAGE), 1),
        ("hash", "SM3", lambda: sm3(MESSAGE), 1),
    ]
    print(f"{'suite':<6} {'operation':<26} {'ops/s per core':>15} {'us/op':>8} {'ops/s wall':>11}")
    for suite_name, label, operation, per_call in rows:
        calls_per_cpu_second, calls_per_wall_second = rate(operation, seconds)
        per_cpu_second = calls_per_cpu_second * per_call
        per_wall_second = calls_per_wall_second * per_call
        print(
            f"{suite_name:<6} {label:<26} {per_cpu_second:>15,.0f} "
            f"{1e6 / per_cpu_second:>8.1f} {per_wall_second:>11,.0f}"
        )


if __name__ == "__main__":
    main()
