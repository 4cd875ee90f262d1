"""User-facing errors: the CLI prints them as one line on stderr and exits non-zero."""


class OpsledgerError(Exception):
    """A problem the user can fix (bad input, bad config, missing data) — never a traceback."""


class ConfigError(OpsledgerError):
    """``opsledger.yaml`` (or another config file) is invalid: names the file, field and problem."""
