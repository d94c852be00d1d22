"""Audio on the device: the C front end rendered from a model's features, and streaming detection."""
