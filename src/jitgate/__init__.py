"""jitgate: a self-hosted just-in-time access broker for Microsoft Entra ID."""

__version__ = "0.1.0"
