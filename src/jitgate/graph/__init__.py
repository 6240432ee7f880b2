"""jitgate.graph."""
