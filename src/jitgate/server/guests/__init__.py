"""Guest users: invitations for cross-tenant grants, their results and cleanup."""
