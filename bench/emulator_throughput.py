"""Emulator throughput: membership writes through ``$batch`` and reads, with throttling off.

Measured in-process through ``httpx.AsyncClient`` + ``httpx.ASGITransport`` (the full ASGI app:
body parsing, auth, routing, JSON), one core, no TLS. Prints one JSON line
``{"writes_per_s": ..., "reads_per_s": ...}``. Usage: ``python bench/emulator_throughput.py``.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from jitgate.emulator.app import create_app
from jitgate.emulator.settings import EmulatorSettings
from jitgate.emulator.state import build_state

USERS = 20000
GROUPS = 200
BATCHES = 400
READS = 2000


async def main() -> None:
    """Run the benchmark and print its JSON line."""
    state = build_state(
        seed=None,
        settings=EmulatorSettings(throttling=False),
        generate={"users": USERS, "groups": GROUPS, "members_per_group": 0},
    )
    app = create_app(state)
    tid = state.tenant.tenant_id
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://emulator.bench"
    ) as client:
        token = (
            await client.post(
                f"/{tid}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": state.client_id,
                    "client_secret": state.client_secret,
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
        ).json()["access_token"]
        state.tenant.app_permissions[state.tenant.sp_by_appid[state.client_id]] = [
            "GroupMember.ReadWrite.All",
            "User.Read.All",
        ]
        token = (
            await client.post(
                f"/{tid}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": state.client_id,
                    "client_secret": state.client_secret,
                    "scope": "https://graph.microsoft.com/.default",
                },
            )
        ).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        groups = list(state.tenant.groups)
        users = list(state.tenant.users)
        bodies = []
        for index in range(BATCHES):
            group = groups[index % len(groups)]
            members = users[(index // len(groups)) * 20 : (index // len(groups)) * 20 + 20]
            bodies.append(
                {
                    "requests": [
                        {
                            "id": str(n),
                            "method": "POST",
                            "url": f"/groups/{group}/members/$ref",
                            "headers": {"Content-Type": "application/json"},
                            "body": {
                                "@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{m}"
                            },
                        }
                        for n, m in enumerate(members)
                    ]
                }
            )
        start = time.perf_counter()
        ok = 0
        for body in bodies:
            response = await client.post("/v1.0/$batch", json=body)
            ok += sum(1 for r in response.json()["responses"] if r["status"] == 204)
        writes_s = ok / (time.perf_counter() - start)
        start = time.perf_counter()
        for index in range(READS):
            response = await client.get(
                f"/v1.0/groups/{groups[index % len(groups)]}/members?$top=100"
            )
            response.raise_for_status()
        reads_s = READS / (time.perf_counter() - start)
    print(
        json.dumps(
            {
                "writes_per_s": round(writes_s),
                "reads_per_s": round(reads_s),
                "writes_ok": ok,
                "transport": "in-process ASGITransport",
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
