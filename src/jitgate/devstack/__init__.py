"""Dev/test tooling: the emulator, server and connector as separate processes over HTTPS.

Used by the end-to-end, crash and fault tests and by the benchmarks in ``bench/``. It knows about
the emulator; ``server/``, ``connector/`` and ``graph/`` know nothing of it.

Typical use::

    from jitgate.devstack import DevStack

    with DevStack(tmp_path, database_url=None) as stack:  # SQLite file, or a PostgreSQL URL
        stack.add_connector()                     # API: create; agent: start; CONNECTED
        integration_id = stack.add_integration()  # API: create; discovery: active
        stack.call("POST", "/flows", {...})       # admin API over HTTPS
        stack.graph.set_faults([{"status": 429, "probability": 0.2}])
        stack.graph.export()["members"]                        # the emulator's state
        stack.require_connector().kill(); stack.require_connector().start()
        stack.server.kill(); stack.server.start()              # same port, same database

API
- ``DevStack(workdir, *, database_url, emulator_seed, emulator_args, server_env,
  connector_settings)``: ``start()``/``stop()`` (or ``with``), ``server_url``, ``admin_token``,
  ``api`` (an ``httpx.Client`` on ``/api/v1``), ``client(token)``, ``call(method, path, body,
  **params)``, ``add_connector()``, ``wait_connected()``, ``connector_status()``,
  ``add_integration(name, **fields)``, ``resources(integration_id)``, ``graph`` (the emulator's
  admin API), ``emulator_info``.
- ``ServerProcess``: ``url``, ``ca_bundle``, ``database_url``, ``upgrade()``,
  ``create_token(user, role)``, ``cli(*args)``, ``start()``, ``stop()``, ``kill()``,
  ``restart()``, ``healthy()``; HTTPS with a certificate from a local test CA.
- ``ConnectorProcess``: ``start()``, ``stop()``, ``kill()``, ``restart()``, ``healthy()``.
- ``EmulatorProcess``: ``start()`` → ``EmulatorInfo``, ``stop()``, ``process.kill()`` (a restart
  begins again from the seed); ``EmulatorAdmin``: ``settings(**knobs)``, ``set_faults(rules)``,
  ``clear_faults()``, ``set_latency()``, ``set_replication_lag()``, ``advance_clock()``,
  ``reset_throttle()``, ``seed()``, ``generate()``, ``export()``, ``members(group_id)``.
- Every process logs to ``workdir/logs/<name>.log``; ``ManagedProcess.tail()`` shows the end.
"""

from jitgate.devstack.connector import ConnectorProcess
from jitgate.devstack.emulator import EmulatorAdmin, EmulatorInfo, EmulatorProcess
from jitgate.devstack.process import ManagedProcess, StackError, free_port, wait_for
from jitgate.devstack.server import ServerProcess
from jitgate.devstack.stack import ADMIN_UPN, DevStack
from jitgate.devstack.tls import server_tls

__all__ = [
    "ADMIN_UPN",
    "ConnectorProcess",
    "DevStack",
    "EmulatorAdmin",
    "EmulatorInfo",
    "EmulatorProcess",
    "ManagedProcess",
    "ServerProcess",
    "StackError",
    "free_port",
    "server_tls",
    "wait_for",
]
