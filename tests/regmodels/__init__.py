"""Register models of the real boards' chips, for running tinykit's firmware start-up in unicorn."""
