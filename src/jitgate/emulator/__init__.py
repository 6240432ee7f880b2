"""jitgate.emulator."""
