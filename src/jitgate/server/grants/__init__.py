"""jitgate.server.grants."""
