"""jitgate.cli."""
