#!/usr/bin/env python3
"""Drives Kubently's A2A door with the official `a2a-sdk` Python client and prints JSON.

    a2a_client.py BASE_URL API_KEY CLUSTER OTHER_KEY PUSH_URL

Resolves the agent card, then SendMessage (text part and data part), SendStreamingMessage,
GetTask, ListTasks (whole and page by page), CancelTask, a command the policy refuses, and a
wrong key.
"""

import asyncio
import json
import sys
import uuid

import httpx
from google.protobuf import json_format
from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.types import (
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskPushNotificationConfig,
    TaskState,
)


def text_message(text: str) -> SendMessageRequest:
    return SendMessageRequest(message=Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[Part(text=text)]))


def data_message(data: dict) -> SendMessageRequest:
    part = Part()
    json_format.ParseDict({"data": data}, part)
    return SendMessageRequest(message=Message(message_id=str(uuid.uuid4()), role=Role.ROLE_USER, parts=[part]))


def task_json(task) -> dict:
    return json_format.MessageToDict(task)


async def main(base: str, key: str, cluster: str) -> dict:
    out: dict = {}
    headers = {"X-API-Key": key, "X-Correlation-ID": "a2a-test"}
    async with httpx.AsyncClient(headers=headers, timeout=60.0) as http:
        card = await A2ACardResolver(http, base).get_agent_card()
        out["card"] = json_format.MessageToDict(card)
        unary = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
        streaming = ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create(card)

        async def send(client, req) -> list:
            events = []
            async for ev in client.send_message(req):
                events.append(json_format.MessageToDict(ev))
            return events

        out["send_text"] = await send(unary, text_message("get pods -n demo-shop"))
        out["send_data"] = await send(unary, data_message({"cluster_id": cluster, "command": "get deploy", "namespace": "demo-shop"}))
        out["stream"] = await send(streaming, text_message("describe deploy/orders-api -n demo-shop"))
        out["refused"] = await send(unary, text_message("delete pod x -n demo-shop"))
        task_id = out["send_text"][-1]["task"]["id"]
        out["get_task"] = task_json(await unary.get_task(GetTaskRequest(id=task_id, history_length=10)))
        listed = await unary.list_tasks(ListTasksRequest(page_size=50))
        out["list_tasks"] = [t.id for t in listed.tasks]
        # The same tasks two at a time, following the page tokens.
        paged: dict = {"ids": [], "totals": [], "sizes": []}
        token = ""
        while True:
            page = await unary.list_tasks(ListTasksRequest(page_size=2, page_token=token))
            paged["ids"] += [t.id for t in page.tasks]
            paged["totals"].append(page.total_size)
            paged["sizes"].append(len(page.tasks))
            token = page.next_page_token
            if not token or len(paged["sizes"]) > 10:
                break
        out["list_paged"] = paged

        # A command that waits (logs -f until its deadline), returned at once, then canceled.
        slow = text_message("logs deploy/storefront -n demo-shop -f")
        slow.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
        started = await send(unary, slow)
        slow_id = started[-1]["task"]["id"]
        canceled = await unary.cancel_task(CancelTaskRequest(id=slow_id))
        out["cancel"] = {"id": slow_id, "state": TaskState.Name(canceled.status.state)}
        try:
            await unary.cancel_task(CancelTaskRequest(id=task_id))
            out["cancel_completed"] = "no error"
        except Exception as e:  # noqa: BLE001
            out["cancel_completed"] = type(e).__name__
        try:
            await unary.get_task(GetTaskRequest(id=str(uuid.uuid4())))
            out["unknown_task"] = "no error"
        except Exception as e:  # noqa: BLE001
            out["unknown_task"] = type(e).__name__

        # Push notifications: inline with the message, and through the config RPCs.
        push_url = sys.argv[5]
        inline = text_message("get pods -n demo-shop")
        inline.configuration.CopyFrom(SendMessageConfiguration(task_push_notification_config=TaskPushNotificationConfig(url=push_url, token="tok-inline")))
        out["push_task"] = (await send(unary, inline))[-1]["task"]["id"]
        slow = text_message("logs deploy/storefront -n demo-shop -f")
        slow.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
        slow_id = (await send(unary, slow))[-1]["task"]["id"]
        out["push_rpc_task"] = slow_id
        created = await unary.create_task_push_notification_config(TaskPushNotificationConfig(task_id=slow_id, id="cfg-1", url=push_url, token="tok-rpc"))
        out["push_created"] = json_format.MessageToDict(created)
        listed = await unary.list_task_push_notification_configs(ListTaskPushNotificationConfigsRequest(task_id=slow_id))
        out["push_listed"] = [c.id for c in listed.configs]
        got = await unary.get_task_push_notification_config(GetTaskPushNotificationConfigRequest(task_id=slow_id, id="cfg-1"))
        out["push_get"] = json_format.MessageToDict(got)
        await unary.cancel_task(CancelTaskRequest(id=slow_id))
        await unary.delete_task_push_notification_config(DeleteTaskPushNotificationConfigRequest(task_id=slow_id, id="cfg-1"))
        listed = await unary.list_task_push_notification_configs(ListTaskPushNotificationConfigsRequest(task_id=slow_id))
        out["push_after_delete"] = [c.id for c in listed.configs]
        try:
            await unary.create_task_push_notification_config(TaskPushNotificationConfig(task_id=slow_id, url="http://169.254.169.254/latest"))
            out["push_private"] = "no error"
        except Exception as e:  # noqa: BLE001
            out["push_private"] = f"{type(e).__name__}: {e}"

        # Plain English: health questions become `diagnose`; anything else gets the skills.
        out["ask_shop"] = await send(unary, text_message("What's wrong in namespace demo-shop?"))
        out["ask_why"] = await send(streaming, text_message("Why is report-builder failing in demo-batch?"))
        out["ask_other"] = await send(unary, text_message("please scale up the checkout service"))

    # Another key sees none of these tasks; a wrong key is refused.
    other = sys.argv[4] if len(sys.argv) > 4 else None
    if other:
        async with httpx.AsyncClient(headers={"X-API-Key": other}, timeout=60.0) as http:
            client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
            out["other_list"] = [t.id for t in (await client.list_tasks(ListTasksRequest(page_size=50))).tasks]
            try:
                await client.get_task(GetTaskRequest(id=task_id))
                out["other_get"] = "no error"
            except Exception as e:  # noqa: BLE001
                out["other_get"] = type(e).__name__
    async with httpx.AsyncClient(headers={"X-API-Key": "wrong-key-0123456789abcdef"}, timeout=60.0) as http:
        client = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
        try:
            await send(client, text_message("version"))
            out["wrong_key"] = "no error"
        except Exception as e:  # noqa: BLE001
            out["wrong_key"] = f"{type(e).__name__}: {e}"
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))))
