"""Model zoo, training and distillation."""
