"""An MCP client we did not write (the official Python SDK, `mcp` on PyPI) driving
`widgettdc serve`: it connects, lists and calls tools, pages, reads resources, and prints a
JSON report for the Rust test to check.

usage: mcp_client.py MODE TARGET [watch]
  MODE    auto (server/discover, 2026-07-28) or legacy (the initialize handshake)
  TARGET  http://127.0.0.1:PORT/mcp[/<toolset>], or `stdio:BINARY:PROJECT_DIR`
  watch   instead: list the tools, print READY, wait (60 s at most) for the server to say the
          tools changed (`notifications/tools/list_changed`; on 2026-07-28 through
          `subscriptions/listen`), list them again and print both lists
"""

import asyncio
import json
import sys

from mcp import Client, StdioServerParameters


def dump(result):
    return {
        "is_error": bool(result.is_error),
        "structured": result.structured_content,
        "text": [c.text for c in result.content if getattr(c, "type", None) == "text"],
    }


async def main(mode, target):
    if target.startswith("stdio:"):
        _, binary, project = target.split(":", 2)
        server = StdioServerParameters(command=binary, args=["serve", "-p", project, "--mcp", "stdio", "--no-reload"])
    else:
        server = target
    report = {}
    async with Client(server, mode=mode, read_timeout_seconds=60) as client:
        report["protocol_version"] = client.protocol_version
        info = client.server_info
        report["server_name"] = info.name if info else None
        tools = (await client.list_tools()).tools
        report["tools"] = {
            t.name: {
                "description": t.description,
                "input_schema": t.input_schema,
                "output_schema": t.output_schema,
                "read_only": t.annotations.read_only_hint if t.annotations else None,
                "destructive": t.annotations.destructive_hint if t.annotations else None,
                "open_world": t.annotations.open_world_hint if t.annotations else None,
            }
            for t in tools
        }
        names = set(report["tools"])
        if "cities_by_country" in names:
            first = await client.call_tool("cities_by_country", {"country": "FR"})
            report["page1"] = dump(first)
            cursor = (first.structured_content or {}).get("next_cursor")
            if cursor:
                report["page2"] = dump(await client.call_tool("cities_by_country", {"country": "FR", "cursor": cursor}))
            report["bad_args"] = dump(await client.call_tool("cities_by_country", {"country": "france", "extra": 1}))
        if "broken" in names:
            report["broken"] = dump(await client.call_tool("broken", {}))
        try:
            await client.call_tool("no_such_tool", {})
            report["unknown_tool"] = "no error"
        except Exception as e:  # the server answers with a protocol error
            report["unknown_tool"] = str(e)
        resources = (await client.list_resources()).resources
        report["resources"] = [str(r.uri) for r in resources]
        if any(str(r.uri) == "widgettdc://sources/cities" for r in resources):
            read = await client.read_resource("widgettdc://sources/cities")
            report["source_resource"] = json.loads(read.contents[0].text)
        if any(str(r.uri) == "widgettdc://widgets/dashboard" for r in resources):
            read = await client.read_resource("widgettdc://widgets/dashboard")
            report["widget_resource"] = json.loads(read.contents[0].text)
    print(json.dumps(report))


async def watch(mode, target):
    changed = asyncio.Event()

    async def on_message(message):
        method = getattr(getattr(message, "root", message), "method", None)
        if method == "notifications/tools/list_changed" or type(message).__name__ == "ToolListChangedNotification":
            changed.set()

    report = {}
    async with Client(target, mode=mode, read_timeout_seconds=60, message_handler=on_message) as client:
        report["protocol_version"] = client.protocol_version
        report["before"] = sorted(t.name for t in (await client.list_tools()).tools)
        if mode == "legacy":
            print("READY", flush=True)
            await asyncio.wait_for(changed.wait(), 60)
        else:
            async with client.listen(tools_list_changed=True) as sub:
                print("READY", flush=True)

                async def first():
                    async for event in sub:
                        return type(event).__name__

                report["event"] = await asyncio.wait_for(first(), 60)
        report["after"] = sorted(t.name for t in (await client.list_tools(cache_mode="bypass")).tools)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "watch":
        asyncio.run(watch(sys.argv[1], sys.argv[2]))
    else:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
