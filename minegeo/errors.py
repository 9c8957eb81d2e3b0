"""The one exception type for problems a user can cause (bad files, bad config), and the exit codes.

Every entry point exits the same way: 0 done, ``EXIT_BAD_INPUT`` when the run could not
start (one ``error:`` line on stderr), ``EXIT_SOME_FAILED`` when some items (scenes,
Earth Engine tasks) failed and the others are done.
"""

from __future__ import annotations

from pathlib import Path

#: the run could not start: a bad setting or input, one ``error:`` line on stderr
EXIT_BAD_INPUT = 1
#: some items failed (each reported), the others are done
EXIT_SOME_FAILED = 2


class MinegeoInputError(ValueError):
    """Bad input: the message is one sentence naming the file, the value and what was expected."""


def existing_file(path: str | Path, what: str = "file") -> Path:
    """``path`` as a :class:`~pathlib.Path`, or one line saying that it is not a file.

    Args:
        path: the file a user named.
        what: what the file is, for the message (``"split file"``, ``"label file"``).

    Raises:
        MinegeoInputError: ``<path>: <what> not found`` when nothing, or a folder, is there.
    """
    path = Path(path)
    if not path.is_file():
        raise MinegeoInputError(f"{path}: {what} not found")
    return path
