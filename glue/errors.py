"""The errors `leadflow` reports as one line for the person running it, instead of a traceback."""

from __future__ import annotations


class LeadflowError(Exception):
    """Something the user must fix (configuration, a role, input): the message says what and how.

    glue.cli prints it as `leadflow <command>: <message>` on stderr and exits 2.
    """
