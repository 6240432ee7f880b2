"""jitgate.server.requests."""
