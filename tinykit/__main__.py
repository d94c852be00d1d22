"""``python -m tinykit``: the same as the ``tinykit`` command."""

from tinykit.cli import main

main()
