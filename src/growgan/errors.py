"""User-facing errors.

Anything the user can fix (a missing file, a bad option, a foreign archive) is raised
as `GrowganError` with a one-line message naming the file and the fix. The command
line prints it as ``growgan: error: ...`` and exits with status 2, without a traceback.
"""


class GrowganError(Exception):
    """An error caused by the user's input, with a message that says what to do."""
