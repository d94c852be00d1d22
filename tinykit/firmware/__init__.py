"""The firmware stage: model library + board -> firmware project -> firmware.elf (+ size report)."""
