"""The fast paths of JSON in and out agree with the standard library they stand in for.

The parser reads bodies with orjson and checks their depth from the bytes; ingested records
encode their canonical JSON (the text their record hash covers) with orjson when every
feature is a float. Each must give exactly what the standard path gives, or step aside.
"""

from __future__ import annotations

import json
import random
import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest

from governance.api.parsers import _depth_within, structure_depth
from governance.audit.hashing import canonical_json
from models_registry.serving.inference_records import as_stored
from models_registry.serving.logged_records import (
    ENCODE,
    float_features_json,
    text_json,
    time_json,
)


def _nested(rng: random.Random, depth: int) -> object:
    if depth > 40 or rng.random() < 0.3:
        return rng.choice([1, 2.5, None, True, 'a[{\\"}', "x\\\\", '"', "]]]", "é[\u2028{"])
    if rng.random() < 0.5:
        return [_nested(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}[{{\\": _nested(rng, depth + 1) for i in range(rng.randint(0, 3))}


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def test_the_depth_read_from_the_bytes_is_the_depth_of_the_document():
    rng = random.Random(3)
    for _ in range(2000):
        value = _nested(rng, 0)
        body = json.dumps(value, ensure_ascii=rng.random() < 0.5).encode()
        depth = structure_depth(body)
        assert depth == _depth(value), body
        if depth:  # the walk it replaces, on containers
            assert _depth_within(value, depth) and not _depth_within(value, depth - 1)


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b'{"version": 12345678901234567890123, "records": []}', 12345678901234567890123),
        (b'{"version": -12345678901234567890, "records": []}', -12345678901234567890),
    ],
)
def test_integers_beyond_64_bits_stay_integers(raw, expected):
    """orjson would read them as floats: such bodies go to the standard decoder."""
    from io import BytesIO

    from models_registry.api.serving import LenientJSONParser

    assert LenientJSONParser().parse(BytesIO(raw))["version"] == expected


def test_a_float_with_19_digits_after_the_point_is_read_as_the_standard_decoder_reads_it():
    from io import BytesIO

    from governance.api.parsers import SafeJSONParser

    raw = b'{"a": [0.0012345678901234567, 1234567890123456789.5, 1234567890123456789e2]}'
    assert SafeJSONParser().parse(BytesIO(raw)) == json.loads(raw)


def _doubles(count: int):
    rng = random.Random(7)
    for index in range(count):
        kind = index % 4
        if kind == 0:
            value = rng.gauss(0, 1) * 10 ** rng.randint(-8, 20)
        elif kind == 1:
            value = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        elif kind == 2:
            value = float(rng.randint(-(10**17), 10**17))
        else:
            value = round(rng.uniform(-1e3, 1e3), rng.randint(0, 8))
        if value == value and abs(value) != float("inf"):
            yield value


def test_float_features_encode_as_the_canonical_json_over_a_million_values():
    """The record hash of every ingested row depends on this (logged_records.py)."""
    values = list(_doubles(1_000_000))
    names = [f"f{i:02d}" for i in range(20)]
    for start in range(0, len(values) - 20, 20):
        features = dict(zip(names, values[start : start + 20], strict=True))
        assert float_features_json(features) == canonical_json(as_stored(features))


@pytest.mark.parametrize(
    "features",
    [
        {"b": 1e-05, "a": 0.5},
        {"x": -0.0, "y": 0.0},
        {"é": 1.5, "z\u2028": 2.5},  # names orjson sorts and writes alike
        {"tab\there": 1.5, 'quo"te': 2.5},  # names escaped alike
        {"name-e-": 1.5, "n": 1e300},  # a name that looks like an exponent
        {"10.0000": 3.0, "a": 1e16},
        {"a": 5e-324, "b": 1.7976931348623157e308},
    ],
)
def test_float_features_with_unusual_names_and_values_encode_canonically(features):
    assert float_features_json(features) == canonical_json(as_stored(features))


@pytest.mark.parametrize(
    "value, stored",
    [
        (-0.0, 0.0),
        (3.4e38, 340000000000000000000000000000000000000),
        (1e16, 10000000000000000),
        (-1.5e300, -15 * 10**299),
        (1.5e-07, 1.5e-07),
        (0.1, 0.1),
        (100.0, 100.0),
        (7, 7),
        ("1e+20", "1e+20"),
    ],
)
def test_numbers_as_postgresql_jsonb_gives_them_back(value, stored):
    """What `psql -c "select '[-0.0, 3.4e+38, 1e+16]'::jsonb"` prints: [0.0, 34...0, 1...0]."""
    assert as_stored(value) == stored and type(as_stored(value)) is type(stored)
    assert as_stored({"a": [value]}) == {"a": [stored]}
    assert as_stored(as_stored(value)) == as_stored(value)


def test_request_ids_encode_as_the_canonical_json():
    rng = random.Random(1)
    alphabet = [chr(code) for code in range(0x3000)] + ["\u2028", "😀", '"', "\\"]
    for _ in range(100_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert text_json(text) == ENCODE(text)


def test_equal_times_in_other_zones_keep_their_own_text():
    moment = datetime(2026, 11, 27, 10, tzinfo=UTC)
    same = moment.astimezone(timezone(timedelta(hours=1)))
    assert moment == same
    assert time_json(moment) == ENCODE(str(moment))
    assert time_json(same) == ENCODE(str(same)) != time_json(moment)
