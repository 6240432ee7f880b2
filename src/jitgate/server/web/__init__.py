"""jitgate.server.web."""
