"""The fuzzing contract, the built-in mutation engine and the bookkeeping of a run.

Glossary:

- *target*: a named ``check(data: bytes) -> None`` plus its seed inputs. ``check``
  calls one decoder; a :class:`~baychain.errors.BayChainError` it raises is a
  *refusal* (the decoder doing its job), and ``check`` asserts properties of what was
  decoded (a broken one raises :class:`PropertyViolation`).
- *finding*: an input for which ``check`` raised anything but a ``BayChainError``
  (a *crash*), or ran longer than :data:`HANG_SECONDS` (a *hang*). Findings are
  de-duplicated by exception type and the innermost source line.
- *engine*: what produces inputs. :class:`Mutator` is a seeded, dependency-free
  mutation engine (byte edits, RLP-aware edits, splices, a dictionary, and a few
  large structured inputs up to :data:`MAX_INPUT_BYTES`), with a cheap feedback
  signal: an input that is accepted, or refused with an error message not seen
  before, joins the corpus. ``run.py`` uses atheris (libFuzzer, coverage-guided)
  instead when it is installed.

Simplifications: the built-in engine's feedback is the refusal message, not code
coverage; memory is bounded by ``RLIMIT_AS`` on the whole process (see
:func:`limit_memory`), so an unbounded allocation shows up as a ``MemoryError``
finding rather than being measured per input.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import resource
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from baychain.errors import BayChainError

MAX_INPUT_BYTES = 1 << 20
"""Largest input any engine produces (1 MiB)."""

HANG_SECONDS = 1.0
"""An input whose check takes more CPU seconds than this is a hang finding (CPU time, not
wall time: the machine running the fuzzer is shared, and decoders do no I/O)."""

PROPERTY_CHECK_MAX_BYTES = 64 * 1024
"""Inputs above this size get only the decoder's contract and the main round trip: the
targets skip their slower secondary properties, so timing measures the decoder."""

HARD_TIMEOUT_SECONDS = 10
"""An input still running after this long is interrupted (SIGALRM) and reported as a hang."""

MAX_ACCEPTED_KEPT = 2_000
"""Accepted inputs the built-in engine adds to its corpus (beyond the first)."""

DEFAULT_MEMORY_LIMIT_MB = 1024
"""Address space allowed above what the process uses when the limit is set (MiB)."""


class PropertyViolation(AssertionError):
    """A decoder accepted an input but what it returned breaks a property (round trip, ...)."""


class Hang(BaseException):
    """Raised by the SIGALRM handler inside a check that ran past the hard timeout.

    A ``BaseException`` so that no ``except Exception`` in decoding code swallows it.
    """


@dataclass(frozen=True, slots=True)
class Target:
    """A decoder under fuzzing: how to check one input, and where mutation starts."""

    name: str
    check: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    """Valid encodings (and a few interesting invalid ones); may be slow, called once."""
    dictionary: tuple[bytes, ...] = ()
    """Tokens the mutator inserts or overwrites with (prefixes, magic values)."""
    instrument: tuple[str, ...] = ("baychain",)
    """Top-level modules atheris instruments for coverage."""


@dataclass(frozen=True, slots=True)
class Finding:
    """An input that broke the contract."""

    kind: str
    """"crash", "property" or "hang"."""
    error: str
    """Exception type and message (first line)."""
    location: str
    """``file:line`` of the innermost frame that raised (the de-duplication key)."""
    data: bytes
    traceback: str
    seconds: float

    @property
    def key(self) -> str:
        """What two findings of the same bug share."""
        return f"{self.kind}:{self.error.split(':', 1)[0]}@{self.location}"

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary (the input as hex, cut at 4 KiB, with its length and hash)."""
        return {
            "kind": self.kind,
            "error": self.error,
            "location": self.location,
            "input_len": len(self.data),
            "input_sha256": hashlib.sha256(self.data).hexdigest(),
            "input_hex": self.data[:4096].hex(),
            "seconds": round(self.seconds, 4),
            "traceback": self.traceback,
        }


def _innermost(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "?"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"still running after {HARD_TIMEOUT_SECONDS}s")


def run_one(
    target: Target, data: bytes, *, guard: bool = True
) -> tuple[Finding | None, float, str]:
    """Check one input; return the finding it causes (or None), the seconds it took and
    its outcome (see :func:`outcome_of`; empty for a finding).

    With ``guard``, a SIGALRM interrupts a check that runs past
    :data:`HARD_TIMEOUT_SECONDS` (main thread only).
    """
    if guard:
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, HARD_TIMEOUT_SECONDS)
    started = time.process_time()
    failure: BaseException | None = None
    outcome = "ok"
    try:
        target.check(data)
    except BayChainError as error:
        outcome = outcome_of(error)
    except (Exception, Hang) as error:  # anything else breaks the contract
        failure = error
    finally:
        elapsed = time.process_time() - started
        if guard:
            signal.setitimer(signal.ITIMER_REAL, 0)
    if failure is not None:
        if isinstance(failure, Hang):
            kind = "hang"
        elif isinstance(failure, PropertyViolation):
            kind = "property"
        else:
            kind = "crash"
        text = "".join(traceback.format_exception(failure))
        first = f"{type(failure).__name__}: {str(failure).splitlines()[0] if str(failure) else ''}"
        return Finding(kind, first[:300], _innermost(failure), data, text, elapsed), elapsed, ""
    if elapsed > HANG_SECONDS:  # measure again: a noisy neighbour is not a slow decoder
        again = time.process_time()
        with contextlib.suppress(BayChainError):
            target.check(data)
        elapsed = min(elapsed, time.process_time() - again)
    if elapsed > HANG_SECONDS:
        message = f"slow input: {elapsed:.2f}s (limit {HANG_SECONDS}s)"
        return Finding("hang", message, "-", data, "", elapsed), elapsed, ""
    return None, elapsed, outcome


def outcome_of(error: BayChainError) -> str:
    """The feedback signal of the built-in engine: the refusal's type and message with
    digits removed (so offsets and lengths do not count as new); "ok" for an acceptance."""
    message = "".join(c for c in str(error)[:80] if not c.isdigit())
    return f"{type(error).__name__}:{message}"


# ---------------------------------------------------------------------- the mutator

_INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0x81, 0xB7, 0xB8, 0xBF, 0xC0, 0xC1, 0xF7, 0xF8, 0xFF)
_RLP_TOKENS = (
    b"\x80", b"\x81\x00", b"\x81\x80", b"\xb8\x38", b"\xb8\x00", b"\xb9\x00\x38", b"\xbf",
    b"\xbf\xff\xff\xff\xff\xff\xff\xff\xff", b"\xc0", b"\xc1\xc0", b"\xf8\x38", b"\xf8\x00",
    b"\xf9\xff\xff", b"\xff" * 9, b"\x88" + b"\xff" * 8,
    b"\xa0" + b"\xff" * 32, b"\x94" + b"\x11" * 20,
)  # fmt: skip


def big_inputs() -> list[bytes]:
    """Large structured inputs every target also gets: deep nesting, huge declared lengths,
    a 1 MiB string and list."""
    deep_short = b"\xc1" * 100 + b"\xc0"  # depth 100, only valid as a single chain
    body = b"\xc0"
    for _ in range(200):  # depth 200 of long-form lists
        body = b"\xf8" + bytes((len(body),)) + body if len(body) < 256 else body
    mib = MAX_INPUT_BYTES - 8
    return [
        deep_short,
        b"\xf9\xff\xf0" + b"\xc1" * 70,
        b"\xbb\xff\xff\xff\xff",
        b"\xbf\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\xff\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\xba" + mib.to_bytes(3, "big") + b"\x00" * mib,
        b"\xfa" + mib.to_bytes(3, "big") + b"\x80" * mib,
        b"\xfa" + (mib // 2).to_bytes(3, "big") + b"\x80" * (mib // 2),
        bytes([0xC1 + (i % 50) for i in range(4096)]),
        b"[" * 100_000,  # deep JSON nesting (text targets)
        b'{"a":' * 50_000,
    ]


class Mutator:
    """A seeded mutation engine: every input it yields is a function of the seed and corpus."""

    def __init__(
        self, rng: random.Random, corpus: Sequence[bytes], dictionary: Iterable[bytes] = ()
    ) -> None:
        self.rng = rng
        self.corpus = [bytes(c) for c in corpus] or [b""]
        self.dictionary = list(_RLP_TOKENS) + list(dictionary)

    def add(self, data: bytes) -> None:
        """Keep ``data`` to mutate later (the engine's feedback)."""
        if len(data) <= 64 * 1024:
            self.corpus.append(data)

    def next_input(self) -> bytes:
        """One new input."""
        rng = self.rng
        if rng.random() < 0.003:
            return self._big()
        data = bytearray(rng.choice(self.corpus))
        for _ in range(1 + min(int(rng.expovariate(0.7)), 7)):
            self._mutate(data)
        if len(data) > MAX_INPUT_BYTES:
            del data[MAX_INPUT_BYTES:]
        return bytes(data)

    def _big(self) -> bytes:
        rng = self.rng
        choice = rng.randrange(5)
        if choice == 4:  # a dictionary token repeated many times, inside a corpus entry
            data = rng.choice(self.corpus)
            at = rng.randrange(len(data) + 1)
            token = rng.choice(self.dictionary)
            return (data[:at] + token * rng.randint(100, 100_000) + data[at:])[:MAX_INPUT_BYTES]
        if choice == 0:
            return rng.choice(big_inputs())
        if choice == 1:  # a corpus entry repeated up to 1 MiB
            unit = rng.choice(self.corpus) or b"\xc0"
            return (unit * (MAX_INPUT_BYTES // len(unit) + 1))[: rng.randint(1, MAX_INPUT_BYTES)]
        if choice == 2:  # deep nesting around a corpus entry, in short or long form
            inner = rng.choice(self.corpus)
            for _ in range(rng.randint(60, 3000)):
                inner = _wrap(inner)
                if len(inner) > MAX_INPUT_BYTES:
                    break
            return inner
        return rng.randbytes(rng.randint(1, MAX_INPUT_BYTES))

    def _mutate(self, data: bytearray) -> None:
        rng = self.rng
        op = rng.randrange(14)
        size = len(data)
        at = rng.randrange(size + 1)
        if op == 0 and size:  # flip a bit
            data[at % size] ^= 1 << rng.randrange(8)
        elif op == 1 and size:  # set a random byte
            data[at % size] = rng.randrange(256)
        elif op == 2 and size:  # set an interesting byte
            data[at % size] = rng.choice(_INTERESTING_BYTES)
        elif op == 3:  # insert random bytes
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif op == 4 and size:  # delete a range
            del data[at : at + rng.randint(1, 16)]
        elif op == 5 and size:  # duplicate a range
            start = rng.randrange(size)
            data[at:at] = data[start : start + rng.randint(1, 64)]
        elif op == 6:  # splice with another corpus entry
            other = rng.choice(self.corpus)
            cut = rng.randrange(len(other) + 1)
            data[at:] = other[cut:]
        elif op == 7:  # insert a dictionary token
            data[at:at] = rng.choice(self.dictionary)
        elif op == 8 and size:  # overwrite with a dictionary token
            token = rng.choice(self.dictionary)
            data[at : at + len(token)] = token
        elif op == 9 and size:  # truncate
            del data[rng.randrange(size) :]
        elif op == 10 and size:  # add or subtract a small number at a byte (a length)
            data[at % size] = (data[at % size] + rng.choice((-2, -1, 1, 2, 0x40, 0x80))) % 256
        elif op == 11:  # append garbage
            data += rng.randbytes(rng.randint(1, 4))
        elif op == 12:  # wrap the whole input in a list (nesting)
            data[:] = _wrap(bytes(data))
        elif op == 13 and size >= 2:  # swap two bytes
            there = rng.randrange(size)
            data[at % size], data[there] = data[there], data[at % size]


def _wrap(payload: bytes) -> bytes:
    length = len(payload)
    if length < 56:
        return bytes((0xC0 + length,)) + payload
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0xF7 + len(size),)) + size + payload


# ---------------------------------------------------------------------- a run's bookkeeping


@dataclass(slots=True)
class Stats:
    """What a run did: inputs, findings (de-duplicated), the slowest input."""

    target: str
    engine: str
    runs: int = 0
    crashing_inputs: int = 0
    findings: dict[str, Finding] = field(default_factory=dict)
    slowest_seconds: float = 0.0
    slowest_input: bytes = b""
    started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0
    largest_input: int = 0

    def note(self, data: bytes, finding: Finding | None, seconds: float) -> bool:
        """Count one input; return True when it is a finding not seen before."""
        self.runs += 1
        self.largest_input = max(self.largest_input, len(data))
        if seconds > self.slowest_seconds:
            self.slowest_seconds, self.slowest_input = seconds, data
        if finding is None:
            return False
        self.crashing_inputs += 1
        if finding.key in self.findings:
            return False
        self.findings[finding.key] = finding
        return True

    def to_json(self) -> dict[str, object]:
        """The summary ``run.py`` prints and writes."""
        self.elapsed = time.monotonic() - self.started
        return {
            "target": self.target,
            "engine": self.engine,
            "runs": self.runs,
            "seconds": round(self.elapsed, 1),
            "inputs_per_second": round(self.runs / self.elapsed) if self.elapsed else 0,
            "crashing_inputs": self.crashing_inputs,
            "distinct_findings": len(self.findings),
            "findings": [f.to_json() for f in self.findings.values()],
            "largest_input_bytes": self.largest_input,
            "slowest_seconds": round(self.slowest_seconds, 4),
            "slowest_input_len": len(self.slowest_input),
            "slowest_input_hex": self.slowest_input[:256].hex(),
        }

    def write(self, path: Path) -> None:
        """Write :meth:`to_json` to ``path`` atomically."""
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.to_json(), indent=1))
        temporary.replace(path)


def fuzz(
    target: Target,
    runs: int,
    *,
    seed: int = 0,
    corpus: Sequence[bytes] | None = None,
    on_finding: Callable[[Finding], None] | None = None,
    guard: bool = True,
    progress: Callable[[Stats], None] | None = None,
) -> Stats:
    """Run the built-in engine on ``target`` for ``runs`` inputs (seeds first) from ``seed``."""
    stats = Stats(target.name, "builtin")
    seeds = list(corpus if corpus is not None else target.seeds())
    mutator = Mutator(random.Random(seed), seeds, target.dictionary)
    seen: set[str] = set()
    accepted = 0

    def inputs() -> Iterator[bytes]:
        yield from seeds
        yield from big_inputs()
        while True:
            yield mutator.next_input()

    for data in inputs():
        if stats.runs >= runs:
            break
        finding, seconds, outcome = run_one(target, data, guard=guard)
        if stats.note(data, finding, seconds) and on_finding is not None:
            assert finding is not None
            on_finding(finding)
        if outcome and len(data) <= 4096:
            if outcome not in seen:
                seen.add(outcome)
                mutator.add(data)
            elif outcome == "ok" and accepted < MAX_ACCEPTED_KEPT:
                accepted += 1  # accepted inputs are the best material: keep many
                mutator.add(data)
        if progress is not None and stats.runs % 10_000 == 0:
            progress(stats)
    stats.elapsed = time.monotonic() - stats.started
    return stats


def limit_memory(extra_mb: int = DEFAULT_MEMORY_LIMIT_MB) -> int:
    """Cap this process's address space at its current size plus ``extra_mb`` MiB.

    Return the limit in bytes. An input that makes a decoder allocate more than that
    raises ``MemoryError`` inside the check: a crash finding.
    """
    current = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                current = int(line.split()[1]) * 1024
    limit = current + extra_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit
