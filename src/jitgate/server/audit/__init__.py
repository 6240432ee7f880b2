"""jitgate.server.audit."""
