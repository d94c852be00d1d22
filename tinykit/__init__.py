"""tinykit: a TinyML deployment kit for microcontrollers."""

__version__ = "0.1.0"
