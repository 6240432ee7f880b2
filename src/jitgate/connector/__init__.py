"""jitgate.connector."""
