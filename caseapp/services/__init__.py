"""Use cases. Each takes a session and plain arguments and owns its transaction."""
