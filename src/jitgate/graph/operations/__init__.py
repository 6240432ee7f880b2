"""Entra operations on top of the Graph client: discovery, reads, grants, revocations, PIM."""
