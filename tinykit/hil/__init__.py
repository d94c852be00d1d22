"""Hardware-in-the-loop testing for users: the pytest plugin, `tinykit check` budgets, labgrid places.

- :mod:`tinykit.hil.firmware`: firmware for (model, board), built once (cached by model sha256, board,
  tinykit version).
- :mod:`tinykit.hil.session`: that firmware on a board (QEMU, a serial port, a labgrid place) with a
  connected client; the figures every helper reads.
- :mod:`tinykit.hil.budget` and :mod:`tinykit.hil.check`: the budget spec and its judgement, in
  parallel across boards.
- :mod:`tinykit.hil.plugin`: the pytest plugin (``pytest11`` entry point ``tinykit``).
- :mod:`tinykit.hil.farm`: labgrid places (acquire, find the serial port, release).
"""
