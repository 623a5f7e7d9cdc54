"""Issue 24's SSE row: 1,000 task event streams held open from a process of their own while
bench/push.sh measures `/version` with wrk.

A stream stays open only while its task runs (on a finished task it sends `done` and ends),
and the sandbox's model answers in milliseconds. So `prepare` writes N tasks at RUNNING into
the SQLite file while the server is stopped, claimed by another instance (as after a crash
of one) an hour from now, so that this server's workers leave them alone: 1,000 analyses in
progress, each watched by one client.

    python sse_streams.py prepare DB_FILE USER_ID N     prints the task ids, one a line
    python sse_streams.py hold HOST PORT USER_ID TOKEN IDS_FILE
        opens a stream per task; prints `open N` once all answered 200, then holds them,
        reconnecting with Last-Event-ID when one ends (after REQUEST_TIMEOUT_SECS), until
        SIGTERM; then prints one JSON line: streams, reconnects, events, keep-alives, errors.
"""

import asyncio
import json
import re
import signal
import sqlite3
import sys
import time
import uuid


def prepare(db_file, user_id, n):
    now = int(time.time() * 1_000_000)
    claimed = now + 3_600_000_000
    ids = [f"task_{uuid.uuid4().hex}" for _ in range(n)]
    with sqlite3.connect(db_file) as db:
        db.executemany(
            "INSERT INTO tasks (id, user_id, status, input, attachments, credits_used, attempts, claim_id,"
            " claimed_at, created_at, updated_at, steps, prompt_tokens, completion_tokens)"
            " VALUES (?, ?, 'RUNNING', 'A claim being checked.', '[]', 2000, 1, 'bench-other-instance', ?, ?, ?,"
            " '[]', 0, 0)",
            [(task_id, user_id, claimed, now, now) for task_id in ids])
    print("\n".join(ids))


stats = {"streams": 0, "reconnects": 0, "events": 0, "keep_alives": 0, "errors": 0, "first_error": None}
ID_LINE = re.compile(rb"^id: ?(\d+)", re.M)


async def stream(host, port, path, token, opened):
    last_id = None
    first = True
    while True:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            resume = f"Last-Event-ID: {last_id}\r\n" if last_id else ""
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                         f"Accept: text/event-stream\r\nConnection: close\r\n{resume}\r\n".encode())
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(status.decode(errors="replace").strip())
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            if first:
                first = False
                opened.release()
            while chunk := await reader.read(65536):
                stats["keep_alives"] += chunk.count(b": keep-alive")
                stats["events"] += chunk.count(b"\nevent:") + chunk.startswith(b"event:")
                ids = ID_LINE.findall(chunk)
                last_id = ids[-1].decode() if ids else last_id
            writer.close()
            stats["reconnects"] += 1
        except (OSError, RuntimeError) as error:
            stats["errors"] += 1
            stats["first_error"] = stats["first_error"] or str(error)
            await asyncio.sleep(1)


async def hold(host, port, user_id, token, ids_file):
    ids = open(ids_file).read().split()
    opened = asyncio.Semaphore(0)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    tasks = [asyncio.create_task(stream(host, int(port), f"/api/v1/users/{user_id}/tasks/{t}/events", token, opened))
             for t in ids]
    for _ in ids:
        await opened.acquire()
        stats["streams"] += 1
    print(f"open {len(ids)}", flush=True)
    await stop.wait()
    for task in tasks:
        task.cancel()
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        asyncio.run(hold(*sys.argv[2:7]))
