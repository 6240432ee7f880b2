"""Typed, versioned messages between the server and the connector (pydantic only).

``v1`` is the current version, served under ``/api/connector/v1``. A new incompatible version
gets a new module and a new URL prefix; both sides never import ``jitgate.server``.
"""
