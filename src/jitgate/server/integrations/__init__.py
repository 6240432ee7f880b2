"""jitgate.server.integrations."""
