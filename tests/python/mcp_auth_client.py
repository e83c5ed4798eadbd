#!/usr/bin/env python3
"""Reads Kubently's OAuth protected resource metadata the way the official `mcp` Python SDK's
OAuth client does, and prints what it found as JSON.

    mcp_auth_client.py MCP_URL

An unauthenticated request to the MCP URL (expecting 401), the `resource_metadata` the SDK extracts
from `WWW-Authenticate`, the discovery URLs it would try in order, the metadata document validated
by the SDK's own model, and whether the SDK accepts the MCP URL as within the metadata's resource.
"""

import asyncio
import json
import sys

import httpx2
from mcp.client.auth.utils import (
    build_protected_resource_metadata_discovery_urls,
    extract_resource_metadata_from_www_auth,
    extract_scope_from_www_auth,
)
from mcp.shared.auth import ProtectedResourceMetadata
from mcp.shared.auth_utils import check_resource_allowed, resource_url_from_server_url


async def main(url: str) -> dict:
    out: dict = {}
    async with httpx2.AsyncClient(timeout=30.0) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        response = await http.post(url, json=body, headers={"Accept": "application/json, text/event-stream"})
        out["status"] = response.status_code
        www = extract_resource_metadata_from_www_auth(response)
        out["resource_metadata"] = www
        out["scope"] = extract_scope_from_www_auth(response)
        urls = build_protected_resource_metadata_discovery_urls(www, url)
        out["discovery_urls"] = urls
        found = await http.get(urls[0])
        metadata = ProtectedResourceMetadata.model_validate_json(found.content)
        out["metadata"] = json.loads(metadata.model_dump_json(exclude_none=True))
        out["resource_allowed"] = check_resource_allowed(
            requested_resource=resource_url_from_server_url(url), configured_resource=str(metadata.resource)
        )
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
