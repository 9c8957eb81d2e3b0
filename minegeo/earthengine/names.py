"""Safe, stable names for export tasks and the files they write.

A name becomes an Earth Engine task description (at most 100 characters of a restricted
set), a Drive file name and part of a Cloud Storage object path, so it is reduced to
ASCII letters, digits, ``_`` and ``-``: no path separators, no ``..``, nothing a shell or
a file system reads specially. The same input always gives the same name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from minegeo.errors import MinegeoInputError

#: Longest name kept; Earth Engine refuses task descriptions over 100 characters.
MAX_NAME_LENGTH = 100

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_REPEATS = re.compile(r"([_-])[_-]+")


def sanitize_name(text: object, max_length: int = MAX_NAME_LENGTH) -> str:
    """Reduce any value to a safe name: ASCII letters, digits, ``_`` and ``-``.

    Accents are folded (``Mineração`` -> ``Mineracao``), every other run of characters
    becomes one ``_``, and leading or trailing separators are dropped.

    Args:
        text: the raw value (a class name, an id, an AOI name...).
        max_length: the longest name returned.

    Returns:
        the safe name.

    Raises:
        MinegeoInputError: if nothing usable is left (e.g. ``"../"``).
    """
    folded = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    name = _REPEATS.sub(r"\1", _UNSAFE.sub("_", folded)).strip("_-")[:max_length].strip("_-")
    if not name:
        raise MinegeoInputError(
            f"name {text!r} has no letters or digits; expected an id or class made of letters or digits"
        )
    return name


def unique_names(names: Iterable[str]) -> list[str]:
    """Make names unique by suffixing repeats with ``_2``, ``_3``... in input order.

    Args:
        names: sanitized names, possibly repeated (two ids that sanitize alike).

    Returns:
        the names, each unique; the first occurrence keeps its name.
    """
    seen: set[str] = set()
    result = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        result.append(candidate)
    return result
