"""jitgate.server.identities."""
