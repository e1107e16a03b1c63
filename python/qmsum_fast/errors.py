"""The exceptions the command line turns into one line.

Library code raises :class:`InputError` with a message that names the file, line
or field at fault; the CLI prints it on one line and exits with status 2. A long
job stopped by Ctrl-C raises :class:`Interrupted` with a line saying what was
kept and how to continue; the CLI prints it and exits with status 130.
"""


class InputError(ValueError):
    """Bad user input: a missing path, a malformed file, a missing field."""


class Interrupted(Exception):
    """A job stopped by the user (SIGINT); the message says how to continue."""
