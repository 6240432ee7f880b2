"""The portal: server-rendered pages (Jinja2 + htmx) for requesters, approvers, auditors, admins.

Sign-in is Entra ID OpenID Connect (``portal.oidc``); a signed-in person is a ``PortalUser``
resolved from a server-side session row (``identities.sessions``). Views call the same
operations as the API and render context dicts; every state-changing request carries a CSRF
token. Nothing here is reached by the API's bearer tokens.
"""
