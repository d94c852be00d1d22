"""Serial protocol client: MLPerf Tiny / EEMBC commands plus tinykit's ``tk-`` extensions.

:mod:`tinykit.device.protocol` owns command formats and the reply grammar;
:mod:`tinykit.device.client` owns timeouts, retries and tracing.
"""

from tinykit.device.client import (
    BOOT_TIMEOUT_S,
    COMMAND_TIMEOUT_S,
    INFER_TIMEOUT_S,
    MAX_ATTEMPTS,
    DeviceClient,
    DeviceResetError,
    DeviceTimeoutError,
    GarbledLineError,
)

__all__ = [
    "BOOT_TIMEOUT_S",
    "COMMAND_TIMEOUT_S",
    "INFER_TIMEOUT_S",
    "MAX_ATTEMPTS",
    "DeviceClient",
    "DeviceResetError",
    "DeviceTimeoutError",
    "GarbledLineError",
]
