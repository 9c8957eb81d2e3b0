"""The one exception type for problems a user can cause (bad files, bad config), and the exit codes.

Every entry point exits the same way: 0 done, ``EXIT_BAD_INPUT`` when the run could not
start (one ``error:`` line on stderr), ``EXIT_SOME_FAILED`` when some items (scenes,
Earth Engine tasks) failed and the others are done.
"""

#: the run could not start: a bad setting or input, one ``error:`` line on stderr
EXIT_BAD_INPUT = 1
#: some items failed (each reported), the others are done
EXIT_SOME_FAILED = 2


class MinegeoInputError(ValueError):
    """Bad input: the message is one sentence naming the file, the value and what was expected."""
