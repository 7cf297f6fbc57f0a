"""Exceptions: every failure of the C library arrives as one of these, carrying the CLI's
one-line message and its category (docs/cli.md exit codes)."""

# af_status values (include/aneforge/status.h)
AF_OK, AF_ERR_USAGE, AF_ERR_IO, AF_ERR_FORMAT, AF_ERR_UNSUPPORTED, AF_ERR_SHAPE, \
    AF_ERR_NOMEM, AF_ERR_INTERNAL = range(8)


class AneforgeError(Exception):
    """Base class. ``message`` is the one line the CLI prints after ``aneforge: error:``;
    ``category`` is one of "usage", "bad input", "check failed", "internal"; ``exit_code`` the
    CLI's exit code for it; ``status`` the C library's af_status (None when raised in Python)."""

    category = "internal"
    exit_code = 4

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        self.status = status


class UsageError(AneforgeError, ValueError):
    """A bad argument (exit code 2)."""
    category = "usage"
    exit_code = 2


class BadInputError(AneforgeError, ValueError):
    """A bad input file, model or array (exit code 3)."""
    category = "bad input"
    exit_code = 3


class CheckFailedError(AneforgeError):
    """A check did not pass (exit code 1), e.g. ``Report.check()`` below the PSNR gate."""
    category = "check failed"
    exit_code = 1


class InternalError(AneforgeError, RuntimeError):
    """Out of memory or a broken invariant (exit code 4)."""
    category = "internal"
    exit_code = 4


class TargetError(UsageError):
    """An unknown ANE family name; ``families`` lists the known names."""

    def __init__(self, message, families=(), status=AF_ERR_USAGE):
        super().__init__(message, status)
        self.families = list(families)


class CrossChipFP16Warning(UserWarning):
    """fp16 activations will diverge from fp32 on the ANE (overflow, underflow, cancellation):
    emitted by ``predict_fp16_divergence`` when it finds something."""


def from_status(status, message):
    """The exception for a non-OK af_status."""
    if status == AF_ERR_USAGE:
        return UsageError(message, status)
    if status in (AF_ERR_IO, AF_ERR_FORMAT, AF_ERR_UNSUPPORTED, AF_ERR_SHAPE):
        return BadInputError(message, status)
    return InternalError(message, status)
