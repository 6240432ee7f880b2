"""jitgate.server.jobs."""
