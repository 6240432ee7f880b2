"""jitgate.core."""
