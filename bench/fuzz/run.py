"""Run fuzz targets: ``python bench/fuzz/run.py --target NAME --runs N``.

::

    python bench/fuzz/run.py --list
    python bench/fuzz/run.py --target rlp                 # 1,000,000 inputs (the long run)
    python bench/fuzz/run.py --target all --runs 20000 --engine builtin
    python bench/fuzz/run.py --target jsonrpc --runs 1000000 --max-seconds 1800
    python bench/fuzz/run.py --replay rlp path/to/input   # check one input, print the outcome

Each target runs in a child process whose address space is capped (``RLIMIT_AS``:
its size at start plus ``--memory-mb``, default 1 GiB), with inputs up to 1 MiB.
The engine is atheris (libFuzzer, coverage-guided on the ``baychain`` package, inputs
up to ``--max-len``, default 8 KiB) when it is installed, else the built-in seeded
mutator (inputs up to 1 MiB, and the only one that judges time: instrumented code is
too slow to time); ``--engine`` chooses, ``--engine both`` runs atheris then the
built-in engine, each for ``--runs``. A crash
does not stop the run: each distinct finding (by exception type and innermost
source line) is written to ``OUT/TARGET/findings/`` as the raw input (``.bin``) and
its traceback and hex (``.txt``), and the run goes on. The child writes its figures
to ``OUT/TARGET/stats.json`` as it goes, so ``--max-seconds`` (which stops the child)
still reports what ran. At the end this prints, per target: inputs run, crashes
(inputs and distinct findings), the slowest input; the exit status is 1 if any
target had a finding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(HERE.parent), str(ROOT / "src")]

DEFAULT_RUNS = 1_000_000
DEFAULT_OUT = HERE / "out"
STATS_EVERY_SECONDS = 5.0
ATHERIS_MAX_LEN = 8192
"""Largest input atheris makes. Coverage instrumentation makes a 1 MiB input take
seconds, so the coverage-guided search works on small inputs; the built-in engine
(uninstrumented) covers inputs up to 1 MiB, timing and memory."""


def _engine(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import atheris  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return "builtin"
    return "atheris"


def _save_finding(directory: Path, finding: Any) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(finding.key.encode()).hexdigest()[:16]
    (directory / f"{name}.bin").write_bytes(finding.data)
    summary = finding.to_json()
    (directory / f"{name}.txt").write_text(
        f"{finding.kind}: {finding.error}\nat {finding.location}\n"
        f"input ({len(finding.data)} bytes, sha256 {summary['input_sha256']}):\n"
        f"{finding.data[:4096].hex()}\n\n{finding.traceback}"
    )
    print(f"[{finding.kind}] {finding.error} at {finding.location}", file=sys.stderr, flush=True)


def _child(args: argparse.Namespace) -> int:
    """Fuzz one target in this process (run by the parent with ``--child``)."""
    out = Path(args.out) / args.target / args.engine
    out.mkdir(parents=True, exist_ok=True)
    stats_path = out / "stats.json"
    if args.engine == "atheris":
        return _child_atheris(args, out, stats_path)
    from fuzz.harness import fuzz, limit_memory
    from fuzz.registry import TARGETS

    target = TARGETS[args.target]
    corpus = target.seeds()
    limit_memory(args.memory_mb)
    last = [time.monotonic()]

    def progress(stats: Any) -> None:
        if time.monotonic() - last[0] >= STATS_EVERY_SECONDS:
            last[0] = time.monotonic()
            stats.write(stats_path)

    stats = fuzz(
        target,
        args.runs,
        seed=args.seed,
        corpus=corpus,
        on_finding=lambda finding: _save_finding(out / "findings", finding),
        progress=progress,
    )
    stats.write(stats_path)
    return 0


def _child_atheris(args: argparse.Namespace, out: Path, stats_path: Path) -> int:
    import atheris

    # Everything of baychain is imported inside this block, so it is instrumented.
    with atheris.instrument_imports(include=["baychain"]):
        from fuzz.harness import Stats, limit_memory, run_one
        from fuzz.registry import TARGETS

    target = TARGETS[args.target]
    corpus_dir = out / "corpus"
    if not corpus_dir.is_dir() or not any(corpus_dir.iterdir()):
        corpus_dir.mkdir(parents=True, exist_ok=True)
        for index, data in enumerate(target.seeds()):
            (corpus_dir / f"seed-{index:03d}").write_bytes(data)
    dictionary = out / "dictionary.txt"
    tokens = (*target.dictionary, b"\x80", b"\xb8", b"\xc0", b"\xf8", b"\xff\xff\xff\xff")
    dictionary.write_text("".join(_dictionary_line(token) for token in tokens))
    stats = Stats(target.name, "atheris")
    last = [time.monotonic()]
    runs = args.runs

    def test_one_input(data: bytes) -> None:
        finding, seconds, _ = run_one(target, data, guard=False)
        if finding is not None and finding.kind == "hang" and finding.location == "-":
            finding = None  # instrumented code is slow: timing is the built-in engine's job
        if stats.note(data, finding, seconds) and finding is not None:
            _save_finding(out / "findings", finding)
            stats.write(stats_path)
        if stats.runs >= runs or time.monotonic() - last[0] >= STATS_EVERY_SECONDS:
            last[0] = time.monotonic()
            stats.write(stats_path)

    limit_memory(args.memory_mb)
    argv = [
        sys.argv[0],
        str(corpus_dir),
        f"-runs={runs}",
        f"-max_len={args.max_len}",
        "-timeout=10",
        f"-seed={args.seed + 1}",  # libFuzzer takes 0 as "pick one"
        f"-dict={dictionary}",
        "-rss_limit_mb=0",  # the RLIMIT_AS above bounds memory
        "-print_final_stats=1",
        "-close_fd_mask=1",  # libFuzzer's status lines stay on stderr
        f"-artifact_prefix={out}/",  # slow-unit-*, crash-*, timeout-* files go here
    ]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
    return 0


def _dictionary_line(token: bytes) -> str:
    """One libFuzzer dictionary entry: the token as a quoted string of ``\\xNN`` escapes."""
    escaped = "".join(f"\\x{byte:02x}" for byte in token)
    return f'"{escaped}"\n'


def _parent(args: argparse.Namespace, names: list[str]) -> int:
    out = Path(args.out)
    engines = ["atheris", "builtin"] if args.engine == "both" else [_engine(args.engine)]
    summaries = [_run_child(args, name, engine) for name in names for engine in engines]
    (out / "summary.json").write_text(json.dumps(summaries, indent=1))
    bad = any(s.get("distinct_findings") or s.get("engine_error") for s in summaries)
    return 1 if bad else 0


def _run_child(args: argparse.Namespace, name: str, engine: str) -> dict[str, Any]:
    """Fuzz ``name`` with ``engine`` in a child process; print and return its summary."""
    directory = (Path(args.out) / name / engine).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    stats_path = directory / "stats.json"
    stats_path.unlink(missing_ok=True)
    command = [
        sys.executable, __file__, "--child", "--target", name, "--runs", str(args.runs),
        "--engine", engine, "--seed", str(args.seed), "--out", str(args.out),
        "--memory-mb", str(args.memory_mb), "--max-len", str(args.max_len),
    ]  # fmt: skip
    started = time.monotonic()
    with open(directory / "engine.log", "w") as engine_log:
        child = subprocess.Popen(command, stderr=engine_log, env=_child_env())
        try:
            status = child.wait(timeout=args.max_seconds)
            stopped = ""
        except subprocess.TimeoutExpired:
            child.terminate()
            status = child.wait()
            stopped = f" (stopped after --max-seconds {args.max_seconds:g})"
    summary: dict[str, Any] = (
        json.loads(stats_path.read_text()) if stats_path.exists() else {"runs": 0}
    )
    summary.update(target=name, engine=engine, exit_status=status, stopped=stopped,
                   wall_seconds=round(time.monotonic() - started, 1))  # fmt: skip
    if status not in (0, -15) and not stopped:
        summary["engine_error"] = _tail(directory / "engine.log")
    _print(summary)
    return summary


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent), str(ROOT / "src"), env.get("PYTHONPATH", "")]
    )
    return env


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _print(summary: dict[str, Any]) -> None:
    print(
        f"{summary['target']:>10} [{summary['engine']}]: {summary.get('runs', 0):,} inputs run in "
        f"{summary['wall_seconds']}s{summary['stopped']}; "
        f"crashes: {summary.get('crashing_inputs', 0)} inputs, "
        f"{summary.get('distinct_findings', 0)} distinct; "
        f"slowest input {summary.get('slowest_seconds', 0)}s "
        f"({summary.get('slowest_input_len', 0)} bytes); "
        f"largest input {summary.get('largest_input_bytes', 0)} bytes",
        flush=True,
    )
    for finding in summary.get("findings", []):
        print(f"    [{finding['kind']}] {finding['error']} at {finding['location']}; "
              f"input {finding['input_len']} bytes: {finding['input_hex'][:160]}")  # fmt: skip
    if summary.get("engine_error"):
        print(f"    the engine exited with {summary['exit_status']}:\n{summary['engine_error']}")


def _replay(name: str, path: Path) -> int:
    from fuzz.harness import run_one
    from fuzz.registry import TARGETS

    data = path.read_bytes()
    finding, seconds, outcome = run_one(TARGETS[name], data)
    if finding is None:
        print(f"{name}: {outcome} in {seconds:.4f}s")
        return 0
    print(f"{name}: {finding.kind}: {finding.error} at {finding.location} ({seconds:.4f}s)")
    print(finding.traceback)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="bench/fuzz/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="all", help="a target name, or 'all' (default)")
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="inputs per target")
    parser.add_argument("--engine", choices=("auto", "atheris", "builtin", "both"), default="auto")
    parser.add_argument("--seed", type=int, default=0, help="the engine's random seed")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="corpora, findings, stats")
    parser.add_argument("--memory-mb", type=int, default=1024, help="RLIMIT_AS headroom")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop a target after")
    parser.add_argument(
        "--max-len", type=int, default=ATHERIS_MAX_LEN, help="atheris: largest input (bytes)"
    )
    parser.add_argument("--list", action="store_true", help="list the targets")
    parser.add_argument("--replay", nargs=2, metavar=("TARGET", "FILE"), help="check one input")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args)
    if args.replay:
        return _replay(args.replay[0], Path(args.replay[1]))
    from fuzz.registry import TARGETS

    if args.list:
        print("\n".join(TARGETS))
        return 0
    names = list(TARGETS) if args.target == "all" else args.target.split(",")
    unknown = [name for name in names if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; --list shows them")
    return _parent(args, names)


if __name__ == "__main__":
    sys.exit(main())
