"""The all-in-one demo (``jitgate up``) and its scripted cycle (``jitgate demo``).

``allinone`` is the only module that composes the server, the connector and the emulator in one
process; ``seed`` fills the database through the normal operations; ``script`` drives a running
demo over HTTP only; ``info`` is the file that ``jitgate up`` leaves for ``jitgate demo``.
"""
