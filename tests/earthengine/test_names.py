"""Names are safe (no separators, no '..', safe characters only), stable and unique."""

from __future__ import annotations

import re

import pytest

from minegeo.earthengine.names import MAX_NAME_LENGTH, sanitize_name, unique_names
from minegeo.errors import MinegeoInputError

SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mine", "mine"),
        ("103 (Cruz)", "103_Cruz"),
        ("Barragem Mineração Índio", "Barragem_Mineracao_Indio"),
        ("../../etc/passwd", "etc_passwd"),
        ("a/b\\c", "a_b_c"),
        ("x..y", "x_y"),
        ("  --tail__dam--  ", "tail_dam"),
        (42, "42"),
    ],
)
def test_sanitize_name(raw: object, expected: str) -> None:
    assert sanitize_name(raw) == expected


@pytest.mark.parametrize("raw", ["../x", "a/..", "C:\\dir\\f", "name with spaces & $(cmd)", "é" * 300])
def test_sanitized_names_have_only_safe_characters(raw: str) -> None:
    name = sanitize_name(raw)
    assert SAFE.match(name) and ".." not in name and len(name) <= MAX_NAME_LENGTH


def test_sanitize_name_is_stable() -> None:
    assert sanitize_name("Dam #7 / Norte") == sanitize_name("Dam #7 / Norte") == "Dam_7_Norte"


def test_sanitize_name_refuses_names_without_letters_or_digits() -> None:
    with pytest.raises(MinegeoInputError, match=r"'\.\./' has no letters or digits"):
        sanitize_name("../")


def test_unique_names_suffixes_repeats_in_order() -> None:
    assert unique_names(["mine_1", "mine_1", "mine_2", "mine_1"]) == [
        "mine_1",
        "mine_1_2",
        "mine_2",
        "mine_1_3",
    ]
