"""The one kind of error a person fixes by changing a setting, a file or a connection.

Every configuration error of the hub (an environment variable, a source, target or calendar file,
a threshold, an Airflow Connection) is a ``ConfigurationError`` whose message names what is wrong:
the variable, file or connection, the field, and what is allowed. The command line prints it as one
line and exits 2 (the traceback only with ``-v``); ``hub status`` lists broken source files as
problems instead of stopping.
"""

from __future__ import annotations


class ConfigurationError(Exception):
    """A setting, file or connection is unusable; the message says which and what is allowed."""
