"""The connector agent: claims jobs from the server and runs them with Microsoft Graph.

It never imports ``jitgate.server``; it speaks ``jitgate.protocol.v1`` over HTTPS and keeps the
Azure credentials to itself (invariant 8). Entry points: ``jitgate connector run`` and, in
process, ``jitgate.connector.agent.run_agent(config, stop_event=...)``.
"""
