"""Targets: board files (validated data) and what tinykit knows about each CPU."""
