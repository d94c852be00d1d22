"""One handler per TFLite op (see :mod:`tinykit.ir.ops.base`), grouped by op family.

Every module of this package is imported here, so adding a family module is all it takes to add
handlers; each module registers its handlers with ``@register``.
"""

import importlib
import pkgutil

from tinykit.ir.ops.base import OpHandler, analyse_operator, op_handler, register, supported_ops

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["OpHandler", "analyse_operator", "op_handler", "register", "supported_ops"]
