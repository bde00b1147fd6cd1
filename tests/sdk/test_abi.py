"""The Solidity ABI codec: the specification's examples, an independent codec, refusals.

Vectors are the worked examples of the Solidity "Contract ABI Specification" (section
"Examples" and "Use of Dynamic Types") and well-known selectors (ERC-20 ``transfer``,
``Error(string)``). Random values are checked against eth-abi, an independent encoder,
and must decode back to themselves.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from eth_abi.abi import encode as eth_abi_encode
from hypothesis import given
from hypothesis import strategies as st

from baychain.artifacts import load_artifact
from baychain.errors import BayChainError
from baychain.sdk.abi import (
    AbiError,
    call_data,
    decode,
    decode_output,
    deploy_data,
    encode,
    error_data,
    event_topic,
    selector,
    signature_of,
)

TOKEN = load_artifact("Token")
ALICE = bytes.fromhex("a11ce00000000000000000000000000000000001")


def words(*hex_words: str) -> bytes:
    """32-byte words written as hex without padding: a number, or bytes left-aligned with '<'."""
    out = b""
    for word in hex_words:
        if word.startswith("<"):
            out += bytes.fromhex(word[1:]).ljust(32, b"\0")
        else:
            out += int(word, 16).to_bytes(32, "big")
    return out


# --- known vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signature", "expected"),
    [
        ("transfer(address,uint256)", "a9059cbb"),
        ("balanceOf(address)", "70a08231"),
        ("Error(string)", "08c379a0"),
        ("baz(uint32,bool)", "cdcd77c0"),
        ("bar(bytes3[2])", "fce353f6"),
        ("sam(bytes,bool,uint256[])", "a5643bf2"),
        ("f(uint256,uint32[],bytes10,bytes)", "8be65246"),
    ],
)
def test_selector_is_the_first_four_bytes_of_keccak(signature: str, expected: str) -> None:
    assert selector(signature).hex() == expected


SPEC_EXAMPLES: list[tuple[list[str], tuple[Any, ...], bytes]] = [
    (["uint32", "bool"], (69, True), words("45", "1")),
    (["bytes3[2]"], ((b"abc", b"def"),), words("<616263", "<646566")),
    (
        ["bytes", "bool", "uint256[]"],
        (b"dave", True, (1, 2, 3)),
        words("60", "1", "a0", "4", "<64617665", "3", "1", "2", "3"),
    ),
    (
        ["uint", "uint32[]", "bytes10", "bytes"],
        (0x123, (0x456, 0x789), b"1234567890", b"Hello, world!"),
        words("123", "80", "<31323334353637383930", "e0", "2", "456", "789", "d",
              "<48656c6c6f2c20776f726c6421"),
    ),
]  # fmt: skip


@pytest.mark.parametrize(("types", "values", "encoded"), SPEC_EXAMPLES)
def test_the_specification_examples_encode_and_decode(
    types: list[str], values: tuple[Any, ...], encoded: bytes
) -> None:
    assert encode(types, values) == encoded
    assert decode(types, encoded) == values


def test_a_string_is_its_length_then_utf8_padded_to_a_word() -> None:
    assert encode(["string"], ["Hello, world!"]) == words("20", "d", "<48656c6c6f2c20776f726c6421")
    assert encode(["string"], [""]) == words("20", "0")
    assert decode(["string"], encode(["string"], ["证据 é"])) == ("证据 é",)


def test_negative_ints_are_twos_complement() -> None:
    assert encode(["int8"], [-1]) == b"\xff" * 32
    assert encode(["int256"], [-(2**255)]) == b"\x80" + bytes(31)
    assert decode(["int16"], b"\xff" * 32) == (-1,)


# --- the JSON ABI helpers --------------------------------------------------------------------


def test_call_data_is_selector_plus_arguments() -> None:
    assert call_data(TOKEN.abi, "transfer", ALICE, 5) == (
        bytes.fromhex("a9059cbb") + bytes(12) + ALICE + words("5")
    )
    assert call_data(TOKEN.abi, "totalSupply()") == selector("totalSupply()")


def test_deploy_data_appends_constructor_arguments_to_the_creation_code() -> None:
    assert deploy_data(TOKEN, "Bay", "BAY", 7) == TOKEN.bytecode + encode(
        ["string", "string", "uint256"], ["Bay", "BAY", 7]
    )
    evidence = load_artifact("Evidence")  # no constructor: no arguments
    assert deploy_data(evidence) == evidence.bytecode
    with pytest.raises(AbiError, match="Evidence's constructor takes 0 arguments, got 1"):
        deploy_data(evidence, 1)


def test_event_topic_error_data_and_decode_output() -> None:
    assert event_topic(TOKEN.abi, "Transfer").hex() == (
        "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    )
    evidence = load_artifact("Evidence").abi
    digest = b"\x42" * 32
    assert error_data(evidence, "AlreadyAnchored", digest) == (
        selector("AlreadyAnchored(bytes32)") + digest
    )
    assert decode_output(TOKEN.abi, "balanceOf", words("2a")) == (42,)
    assert decode_output(
        evidence, "recordOf", encode(["address", "uint64", "uint64", "string"], [ALICE, 3, 4, "m"])
    ) == (ALICE, 3, 4, "m")


OVERLOADED = (
    {"type": "function", "name": "f", "inputs": [{"type": "uint256"}]},
    {"type": "function", "name": "f", "inputs": [{"type": "uint256"}, {"type": "bool"}]},
    {"type": "function", "name": "g", "inputs": [{"type": "uint256"}]},
    {"type": "function", "name": "g", "inputs": [{"type": "address"}]},
    {"type": "event", "name": "Quiet", "inputs": [], "anonymous": True},
)


def test_overloads_resolve_by_argument_count_or_full_signature() -> None:
    assert call_data(OVERLOADED, "f", 1)[:4] == selector("f(uint256)")
    assert call_data(OVERLOADED, "f", 1, True)[:4] == selector("f(uint256,bool)")
    assert call_data(OVERLOADED, "g(address)", ALICE)[:4] == selector("g(address)")
    with pytest.raises(AbiError, match=r"overloaded \(g\(uint256\), g\(address\)\)"):
        call_data(OVERLOADED, "g", 1)
    assert signature_of(OVERLOADED[1]) == "f(uint256,bool)"


def test_unknown_entries_wrong_counts_and_anonymous_events_are_refused() -> None:
    with pytest.raises(AbiError, match=r"no function 'transfr'; its functions: allowance"):
        call_data(TOKEN.abi, "transfr", ALICE, 1)
    with pytest.raises(AbiError, match=r"transfer\(address,uint256\) takes 2 arguments, got 1"):
        call_data(TOKEN.abi, "transfer", ALICE)
    with pytest.raises(AbiError, match="anonymous"):
        event_topic(OVERLOADED, "Quiet")
    tupled = [{"type": "function", "name": "h", "inputs": [{"type": "tuple", "components": []}]}]
    with pytest.raises(AbiError, match="tuple parameters are not supported"):
        call_data(tupled, "h", ())


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typ", "value", "message"),
    [
        ("uint8", 256, "256 is out of range for uint8 \\(0 to 255\\)"),
        ("uint256", -1, "out of range for uint256"),
        ("uint256", 2**256, "out of range for uint256"),
        ("int8", 128, "out of range for int8 \\(-128 to 127\\)"),
        ("int8", -129, "out of range for int8"),
        ("uint256", True, "uint256 needs an int, got bool"),
        ("uint256", "1", "uint256 needs an int, got str"),
        ("bool", 1, "bool needs a bool, got int"),
        ("address", bytes(19), "address needs exactly 20 bytes, got 19"),
        ("address", "0x" + "00" * 20, "address needs bytes, got str"),
        ("bytes32", bytes(31), "bytes32 needs exactly 32 bytes, got 31"),
        ("bytes", "text", "bytes needs bytes, got str"),
        ("string", b"raw", "string needs a str, got bytes"),
        ("string", "\ud800", "not encodable as UTF-8"),
        ("uint8[2]", [1], "uint8\\[2\\] needs exactly 2 elements, got 1"),
        ("uint8[]", 5, "uint8\\[\\] needs a list or tuple, got int"),
        ("uint8[]", [1, 300], "300 is out of range for uint8"),
    ],
)
def test_values_that_do_not_fit_their_type_raise(typ: str, value: Any, message: str) -> None:
    with pytest.raises(AbiError, match=message):
        encode([typ], [value])


@pytest.mark.parametrize(
    "typ", ["uint7", "uint264", "int0", "bytes0", "bytes33", "fixed128x18", "function", "tuple",
            "(uint256,bool)", "uint256[0]", "Uint256", ""],
)  # fmt: skip
def test_unsupported_types_raise(typ: str) -> None:
    with pytest.raises(AbiError):
        encode([typ], [0])
    with pytest.raises(AbiError):
        decode([typ], bytes(64))


def test_a_count_mismatch_raises() -> None:
    with pytest.raises(AbiError, match=r"2 types \(uint256,bool\) but 1 values"):
        encode(["uint256", "bool"], [1])
    with pytest.raises(AbiError, match="but a str/bytes values"):
        encode(["uint8"], b"\x01")


@pytest.mark.parametrize(
    ("types", "data", "message"),
    [
        (["uint256"], bytes(31), "ends before the word at byte 0"),
        (["uint8"], words("100"), "out of range for uint8"),
        (["int8"], words("80"), "out of range for int8"),
        (["address"], words("1" + "00" * 20), "not an address"),
        (["bool"], words("2"), "not a bool: 2"),
        (["bytes4"], words("<0000000001"), "not a bytes4"),
        (["string"], words("20", "2", "<ff00"), "not UTF-8"),
        (["bytes"], words("20", "40"), "claims 64 bytes past the data"),
        (["bytes"], words("ffffffff"), "points past the data"),
        (["uint256[]"], words("20", f"{2**64:x}"), "needs 18446744073709551616 elements past"),
        (["uint256[3]"], words("1", "2"), "needs 3 elements past the data"),
    ],
)
def test_malformed_data_raises(types: list[str], data: bytes, message: str) -> None:
    with pytest.raises(AbiError, match=message):
        decode(types, data)


def test_abi_error_is_a_baychain_error() -> None:
    assert issubclass(AbiError, BayChainError)


# --- properties ------------------------------------------------------------------------------

TypeGen = tuple[str, st.SearchStrategy[Any]]
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)


def _sized(prefix: str, values: Any) -> st.SearchStrategy[TypeGen]:
    return st.integers(1, 32).map(lambda n: (f"{prefix}{8 * n}", values(8 * n)))


ELEMENTARY: st.SearchStrategy[TypeGen] = st.one_of(
    _sized("uint", lambda bits: st.integers(0, 2**bits - 1)),
    _sized("int", lambda bits: st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)),
    st.just(("address", st.binary(min_size=20, max_size=20))),
    st.just(("bool", st.booleans())),
    st.integers(1, 32).map(lambda n: (f"bytes{n}", st.binary(min_size=n, max_size=n))),
    st.just(("bytes", st.binary(max_size=80))),
    st.just(("string", TEXT)),
)


def _arrays(inner: st.SearchStrategy[TypeGen]) -> st.SearchStrategy[TypeGen]:
    dynamic = inner.map(lambda t: (f"{t[0]}[]", st.lists(t[1], max_size=4).map(tuple)))
    fixed = st.tuples(inner, st.integers(1, 3)).map(
        lambda p: (f"{p[0][0]}[{p[1]}]", st.lists(p[0][1], min_size=p[1], max_size=p[1]).map(tuple))
    )
    return dynamic | fixed


TYPES = st.recursive(ELEMENTARY, _arrays, max_leaves=3)


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[list[str], tuple[Any, ...]]:
    generators = draw(st.lists(TYPES, max_size=4))
    return [name for name, _ in generators], tuple(draw(values) for _, values in generators)


@given(typed_values())
def test_encoding_matches_eth_abi_and_decodes_back(case: tuple[list[str], tuple[Any, ...]]) -> None:
    types, values = case
    encoded = encode(types, values)
    assert encoded == eth_abi_encode(types, values)
    assert decode(types, encoded) == values


@given(
    st.sampled_from(["uint8", "string", "bytes", "uint256[]", "string[2]", "bytes[][]"]),
    st.binary(max_size=200),
)
def test_decoding_arbitrary_bytes_returns_or_raises_abi_error(typ: str, data: bytes) -> None:
    with contextlib.suppress(AbiError):
        decode([typ], data)
