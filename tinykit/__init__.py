"""tinykit: a TinyML deployment kit for microcontrollers."""

from tinykit import _moved

__version__ = "0.1.0"

_moved.install()
