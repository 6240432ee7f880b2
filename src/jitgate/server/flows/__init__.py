"""jitgate.server.flows."""
