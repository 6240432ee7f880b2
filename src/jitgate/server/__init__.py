"""jitgate.server."""
