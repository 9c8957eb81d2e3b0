"""The one exception type for problems a user can cause (bad files, bad config)."""


class MinegeoInputError(ValueError):
    """Bad input: the message is one sentence naming the file, the value and what was expected."""
