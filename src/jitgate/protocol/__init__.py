"""jitgate.protocol."""
