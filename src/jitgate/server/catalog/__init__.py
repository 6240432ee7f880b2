"""jitgate.server.catalog."""
