"""Fuzz targets for every decoder that reads bytes a peer or client controls.

Each ``*_target.py`` module defines one or more :class:`~fuzz.harness.Target`: a
``check(data)`` that calls the decoder, lets a :class:`~baychain.errors.BayChainError`
through as a refusal, and asserts the properties of what it decoded (most often that
re-encoding gives the input back: the encodings are canonical); and the seed inputs
(valid encodings of real transactions, blocks and messages) that mutation starts from.

The contract every decoder is held to: for any input up to 1 MiB it returns a value
or raises a ``BayChainError`` subclass, within about a second and bounded memory. Any
other exception (``IndexError``, ``RecursionError``, ``MemoryError``, ...) or a broken
round trip is a *finding*. ``run.py`` is the command line (long runs, atheris when
installed); ``tests/fuzz/test_fuzz_short.py`` runs a few thousand seeded inputs per
target in the default test run.
"""
