"""jitgate.server.connectors."""
