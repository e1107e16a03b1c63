"""The one exception type for bad input.

Library code raises :class:`InputError` with a message that names the file, line
or field at fault; the CLI prints it on one line and exits with status 2.
"""


class InputError(ValueError):
    """Bad user input: a missing path, a malformed file, a missing field."""
