"""Canonical encodings: every value that is hashed, signed or sent has exactly one.

- :mod:`baychain.codec.rlp`: Ethereum's Recursive Length Prefix, decoded
  strictly (a byte string has one accepted encoding, so equal values hash equal).
"""
