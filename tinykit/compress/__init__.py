"""Model compression: structured pruning, int8 quantization (PTQ/QAT), fit-to-board search."""
