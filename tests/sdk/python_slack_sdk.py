"""Drives the emulator with Slack's official Python SDK, unchanged.

Usage: python3 python_slack_sdk.py BASE_URL
Prints one line per check and exits non-zero on the first failure.
"""

import json
import sys
import threading
import time
import urllib.request

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

base = sys.argv[1].rstrip("/")
web = WebClient(token="xoxb-sdk-check-123", base_url=f"{base}/api/")
app_web = WebClient(token="xapp-1-sdk-check-123", base_url=f"{base}/api/")


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    print(f"ok   {name}")


auth = web.auth_test()
check("auth.test", auth["user_id"] == "U0SWARMBOT" and auth["bot_id"] == "B0SWARMBOT")

pages = 0
names = []
for page in web.conversations_list(limit=2):
    pages += 1
    names += [c["name"] for c in page["channels"]]
check("conversations.list paginates through the SDK iterator", pages == 3 and "swarm-api" in names, names)

posted = web.chat_postMessage(
    channel="C0SWARMAPI",
    text="from the SDK",
    metadata={"event_type": "swarmdeck_assigned", "event_payload": {"expert": "U0EXP00001"}},
)
check("chat.postMessage with metadata", posted["ok"] and posted["message"]["metadata"]["event_type"] == "swarmdeck_assigned")
web.chat_postMessage(channel="C0SWARMAPI", text="reply", thread_ts=posted["ts"])
replies = web.conversations_replies(channel="C0SWARMAPI", ts=posted["ts"], include_all_metadata=True)
check("conversations.replies", [m["text"] for m in replies["messages"]] == ["from the SDK", "reply"])
history = web.conversations_history(channel="C0SWARMAPI", limit=1)
check("conversations.history", history["messages"][0]["reply_count"] == 1)

try:
    web.conversations_create(name="Bad Name")
    check("invalid name raises", False)
except SlackApiError as e:
    check("errors surface as SlackApiError", e.response["error"] == "invalid_name_specials")

received = []
done = threading.Event()


def on_request(client: SocketModeClient, req: SocketModeRequest):
    client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
    if req.type == "events_api" and req.payload["event"].get("text") == "hello sdk":
        received.append(req.payload)
        done.set()


socket = SocketModeClient(app_token="xapp-1-sdk-check-123", web_client=app_web, trace_enabled=False)
socket.socket_mode_request_listeners.append(on_request)
socket.connect()
time.sleep(0.5)
body = json.dumps({"type": "message", "channel": "swarm-api", "user": "U0REQ00001", "text": "hello sdk"}).encode()
urllib.request.urlopen(urllib.request.Request(f"{base}/_emulator/events", data=body, headers={"content-type": "application/json"}))
check("Socket Mode delivers an event to the SDK", done.wait(15), received)
deadline = time.time() + 10
acked = False
while time.time() < deadline and not acked:
    deliveries = json.load(urllib.request.urlopen(f"{base}/_emulator/deliveries"))
    acked = any(d["event_id"] == received[0]["event_id"] and d["acked_at"] for d in deliveries)
    time.sleep(0.1)
check("the SDK's ack reaches the emulator", acked)
socket.close()
print("all SDK checks passed")
