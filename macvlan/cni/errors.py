"""The CNI error codes (SPEC.md section 5, "Error") and the plugin's exceptions.

The exception classes are defined in :mod:`macvlan.errors` (every public exception
of the library is, and all are exported from :mod:`macvlan`); the codes they carry
are named here.
"""

from __future__ import annotations

from macvlan.errors import CniConfigError, CniDecodeError, CniEnvError, CniError, CniVersionError

__all__ = [
    "DECODING_FAILURE",
    "INCOMPATIBLE_VERSION",
    "INTERNAL",
    "INVALID_CONFIG",
    "INVALID_ENVIRONMENT",
    "INVALID_NETNS",
    "IO_FAILURE",
    "LIMITED_CONNECTIVITY",
    "NOT_AVAILABLE",
    "TRY_AGAIN_LATER",
    "UNKNOWN_CONTAINER",
    "UNSUPPORTED_FIELD",
    "CniConfigError",
    "CniDecodeError",
    "CniEnvError",
    "CniError",
    "CniVersionError",
]

INCOMPATIBLE_VERSION = CniVersionError.code  # 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENVIRONMENT = CniEnvError.code  # 4
IO_FAILURE = 5
DECODING_FAILURE = CniDecodeError.code  # 6
INVALID_CONFIG = CniConfigError.code  # 7
INVALID_NETNS = 8
TRY_AGAIN_LATER = 11
NOT_AVAILABLE = 50
LIMITED_CONNECTIVITY = 51
INTERNAL = CniError.code  # 999
