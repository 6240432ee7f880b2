"""The connector protocol: instances, claims, results, self-checks (``/api/connector/v1``)."""
