#!/usr/bin/env python3
"""Drives Kubently's MCP door with the official `mcp` Python SDK and prints what happened as JSON.

    mcp_client.py URL API_KEY MODE CLUSTER     # MODE: legacy (2025-11-25 sessions) | 2026-07-28 (stateless)

Lists the tools, calls every one against the demo scenario, and records results, tool errors
(isError) and protocol errors. With a bad key it records how connecting failed.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError


def text_of(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


async def main(url: str, key: str, mode: str, cluster: str) -> dict:
    out: dict = {}
    headers = {"X-API-Key": key, "X-Correlation-ID": f"mcp-{mode}"}
    try:
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60.0, read=300.0)) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                out["protocol_version"] = str(client.protocol_version)
                listed = await client.list_tools()
                out["tools"] = {
                    t.name: {
                        "read_only": t.annotations.read_only_hint if t.annotations else None,
                        "open_world": t.annotations.open_world_hint if t.annotations else None,
                        "input_schema": t.input_schema,
                        "output_schema": t.output_schema,
                        "description": t.description,
                    }
                    for t in listed.tools
                }

                async def call(name: str, args: dict) -> dict:
                    try:
                        r = await client.call_tool(name, args)
                        return {"is_error": bool(r.is_error), "structured": r.structured_content, "text": text_of(r)}
                    except MCPError as e:
                        return {"protocol_error": e.code, "message": str(e)}

                calls: dict = {}
                calls["list_clusters"] = await call("list_clusters", {})
                calls["create_debug_session"] = await call("create_debug_session", {"cluster_id": cluster, "correlation_id": f"mcp-{mode}"})
                sid = (calls["create_debug_session"].get("structured") or {}).get("session_id")
                calls["execute_kubectl"] = await call("execute_kubectl", {"command": "get pods -n demo-shop", "session_id": sid})
                calls["execute_budget"] = await call("execute_kubectl", {"command": "kubectl get pods -A -o wide", "session_id": sid, "output_budget": 1024})
                budget = calls["execute_budget"].get("structured") or {}
                calls["get_command_result"] = await call("get_command_result", {"result_id": budget.get("result_id", ""), "offset": budget.get("next_offset") or 0})
                calls["get_resources"] = await call("get_resources", {"resource": "deploy", "namespace": "demo-shop", "session_id": sid})
                calls["describe_resource"] = await call("describe_resource", {"resource": "deploy", "name": "orders-api", "namespace": "demo-shop", "session_id": sid})
                calls["get_logs"] = await call("get_logs", {"pod": "deploy/orders-api", "namespace": "demo-shop", "previous": True, "tail": 5, "session_id": sid})
                calls["diagnose"] = await call("diagnose", {"namespace": "demo-shop", "session_id": sid})
                calls["diagnose_json"] = await call("diagnose", {"object": "deploy/report-builder", "namespace": "demo-batch", "format": "json", "session_id": sid})
                calls["get_events"] = await call("get_events", {"namespace": "demo-batch", "types": "Warning", "session_id": sid})
                calls["secret"] = await call("get_resources", {"resource": "secret", "name": "orders-db-credentials", "namespace": "demo-shop", "output": "yaml", "session_id": sid})
                calls["refused"] = await call("execute_kubectl", {"command": "delete pod x -n demo-shop", "session_id": sid})
                calls["shell"] = await call("execute_kubectl", {"command": "get pods | grep x", "session_id": sid})
                calls["failed"] = await call("execute_kubectl", {"command": "get pod no-such-pod -n demo-shop", "session_id": sid})
                calls["bad_type"] = await call("execute_kubectl", {"command": 42})
                calls["unknown_arg"] = await call("get_resources", {"resource": "pods", "namespce": "demo-shop"})
                calls["missing_arg"] = await call("describe_resource", {"name": "x"})
                calls["close_session"] = await call("close_session", {"session_id": sid})
                out["calls"] = calls
    except Exception as e:  # noqa: BLE001 - the test asserts on what failed
        out["connect_error"] = f"{type(e).__name__}: {e}"
    return out


if __name__ == "__main__":
    url, key, mode, cluster = sys.argv[1:5]
    print(json.dumps(asyncio.run(main(url, key, mode, cluster))))
