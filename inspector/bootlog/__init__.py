"""A real machine's boot log: a second source of the model's inputs, and its lines to judge."""
