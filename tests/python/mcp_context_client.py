#!/usr/bin/env python3
"""Drives Kubently's MCP prompts, resources and completion with the official `mcp` Python SDK.

    mcp_context_client.py URL API_KEY OTHER_KEY MODE CLUSTER    # MODE: legacy | 2026-07-28

With API_KEY: lists and gets the prompts, lists and reads the resources (a result made by an
`execute_kubectl` call included), and completes cluster ids and namespaces. With OTHER_KEY (a
key of another caller or cluster scope): the same listings and reads of API_KEY's cluster and
result. Prints what happened as JSON; protocol errors are recorded with their code and message.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference


async def attempt(coro) -> dict:
    try:
        return {"ok": await coro}
    except MCPError as e:
        return {"error": e.code, "message": str(e), "data": e.data}


def prompt_of(r) -> dict:
    return {
        "description": r.description,
        "messages": [{"role": m.role, "type": m.content.type, "text": getattr(m.content, "text", None)} for m in r.messages],
    }


def contents_of(r) -> list:
    return [{"uri": str(c.uri), "mime_type": c.mime_type, "text": getattr(c, "text", None)} for c in r.contents]


def completion_of(r) -> dict:
    return {"values": r.completion.values, "total": r.completion.total, "has_more": r.completion.has_more}


async def connect(url: str, key: str, mode: str):
    http = httpx2.AsyncClient(headers={"X-API-Key": key}, timeout=httpx2.Timeout(60.0, read=120.0))
    return http, Client(streamable_http_client(url, http_client=http), mode=mode)


async def as_owner(url: str, key: str, mode: str, cluster: str) -> dict:
    out: dict = {}
    http, client = await connect(url, key, mode)
    async with http, client:
        if mode == "legacy":
            caps = client.server_capabilities.model_dump(by_alias=True, exclude_none=True)
        else:
            # An explicit 2026-07-28 client starts from a synthesized discovery; ask the server.
            caps = (await client.session.send_discover(mode)).get("capabilities", {})
        out["capabilities"] = {
            "prompts": "prompts" in caps,
            "resources": "resources" in caps,
            "resources_subscribe": bool((caps.get("resources") or {}).get("subscribe")),
            "completions": "completions" in caps,
        }
        listed = await client.list_prompts()
        out["prompts"] = {
            p.name: {"description": p.description, "arguments": {a.name: bool(a.required) for a in (p.arguments or [])}}
            for p in listed.prompts
        }
        workflow = await attempt(client.get_prompt("debug_workflow", {"cluster": cluster, "namespace": "demo-shop", "symptom": "checkout returns 502"}))
        out["workflow"] = prompt_of(workflow["ok"]) if "ok" in workflow else workflow
        finding = await attempt(client.get_prompt("explain_finding", {"finding": "Pod orders-api: CrashLoopBackOff, exit code 1, 47 restarts"}))
        out["finding"] = prompt_of(finding["ok"]) if "ok" in finding else finding
        out["prompt_unknown"] = await attempt(client.get_prompt("no_such_prompt", {}))
        out["prompt_missing"] = await attempt(client.get_prompt("explain_finding", {}))
        out["prompt_unknown_arg"] = await attempt(client.get_prompt("debug_workflow", {"cluster": cluster, "namespce": "x"}))
        out["prompt_other_cluster"] = await attempt(client.get_prompt("debug_workflow", {"cluster": "elsewhere"}))

        resources = await client.list_resources()
        out["resources"] = {str(r.uri): {"name": r.name, "mime_type": r.mime_type} for r in resources.resources}
        templates = await client.list_resource_templates()
        out["templates"] = {t.uri_template: {"name": t.name, "mime_type": t.mime_type} for t in templates.resource_templates}
        out["read_clusters"] = contents_of(await client.read_resource("kubently://clusters"))
        out["read_cluster"] = contents_of(await client.read_resource(f"kubently://clusters/{cluster}"))
        run = await client.call_tool("execute_kubectl", {"command": "get pods -n demo-shop", "cluster_id": cluster})
        result_id = (run.structured_content or {}).get("result_id")
        out["result_id"] = result_id
        out["read_result"] = contents_of(await client.read_resource(f"kubently://results/{result_id}"))
        searched = await client.call_tool("get_command_result", {"result_id": result_id, "grep": "(?i)crashloop", "context": 1})
        out["search"] = {"is_error": bool(searched.is_error), "structured": searched.structured_content}
        counted = await client.call_tool("get_command_result", {"result_id": result_id, "grep": "Running", "count": True})
        out["search_count"] = {"is_error": bool(counted.is_error), "structured": counted.structured_content}
        bad = await client.call_tool("get_command_result", {"result_id": result_id, "grep": "(unclosed"})
        out["search_bad"] = {"is_error": bool(bad.is_error), "text": "".join(getattr(c, "text", "") for c in bad.content)}
        out["read_unknown"] = await attempt(client.read_resource("kubently://results/00000000-0000-0000-0000-000000000000"))
        out["read_foreign_uri"] = await attempt(client.read_resource("file:///etc/passwd"))

        out["complete_cluster"] = completion_of(await client.complete(PromptReference(type="ref/prompt", name="debug_workflow"), {"name": "cluster", "value": cluster[:2]}))
        out["complete_namespace"] = completion_of(
            await client.complete(PromptReference(type="ref/prompt", name="debug_workflow"), {"name": "namespace", "value": "demo-"}, {"cluster": cluster})
        )
        out["complete_namespace_again"] = completion_of(
            await client.complete(PromptReference(type="ref/prompt", name="debug_workflow"), {"name": "namespace", "value": "kube"}, {"cluster": cluster})
        )
        out["complete_template"] = completion_of(
            await client.complete(ResourceTemplateReference(type="ref/resource", uri="kubently://clusters/{cluster_id}"), {"name": "cluster_id", "value": ""})
        )
        out["complete_unknown"] = await attempt(client.complete(PromptReference(type="ref/prompt", name="no_such_prompt"), {"name": "x", "value": ""}))
    return out


async def as_other(url: str, key: str, mode: str, cluster: str, result_id: str) -> dict:
    out: dict = {}
    http, client = await connect(url, key, mode)
    async with http, client:
        resources = await client.list_resources()
        out["resources"] = sorted(str(r.uri) for r in resources.resources)
        out["read_clusters"] = contents_of(await client.read_resource("kubently://clusters"))
        out["read_cluster"] = await attempt(client.read_resource(f"kubently://clusters/{cluster}"))
        out["read_result"] = await attempt(client.read_resource(f"kubently://results/{result_id}"))
        out["complete_cluster"] = completion_of(await client.complete(PromptReference(type="ref/prompt", name="debug_workflow"), {"name": "cluster", "value": ""}))
        out["complete_namespace"] = completion_of(
            await client.complete(PromptReference(type="ref/prompt", name="debug_workflow"), {"name": "namespace", "value": ""}, {"cluster": cluster})
        )
        workflow = await attempt(client.get_prompt("debug_workflow", {"cluster": cluster}))
        out["workflow"] = workflow if "error" in workflow else {"ok": True}
    return out


async def main(url: str, key: str, other_key: str, mode: str, cluster: str) -> dict:
    def jsonable(r: dict) -> dict:
        return {k: v for k, v in r.items() if k != "ok"} | ({"ok": True} if "ok" in r else {})

    owner = await as_owner(url, key, mode, cluster)
    for k in ("prompt_unknown", "prompt_missing", "prompt_unknown_arg", "prompt_other_cluster", "read_unknown", "read_foreign_uri", "complete_unknown"):
        owner[k] = jsonable(owner[k])
    other = await as_other(url, other_key, mode, cluster, owner.get("result_id") or "")
    for k in ("read_cluster", "read_result"):
        other[k] = jsonable(other[k]) if "error" in other[k] else {"ok": True, "contents": contents_of(other[k]["ok"])}
    return {"owner": owner, "other": other}


if __name__ == "__main__":
    url, key, other_key, mode, cluster = sys.argv[1:6]
    print(json.dumps(asyncio.run(main(url, key, other_key, mode, cluster)), default=str))
