#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that delays every chunk by a fixed time in each
direction: a link with latency and no bandwidth limit (chunks in flight
overlap, order is kept). With 10 ms each way a round trip takes 20 ms, like a
relay in another city.

  delay_proxy.py LISTEN_PORT TARGET_PORT [--delay-ms 10] [--announce-pipelining]

--announce-pipelining adds PIPELINING to the server's EHLO reply (after its
first line). Postfix's smtp-sink stops announcing PIPELINING when it injects
soft or hard rejects (-r, -f imply -p), although its command loop answers
pipelined commands in order; with this flag those faults can be tested with
pipelining on. Standard library only; stop it with SIGTERM.
"""
import argparse
import asyncio
import os
import signal
import socket
import time

class Announcer:
    """Rewrites a server-to-client stream line by line: after the first line
    of a multi-line 250 reply (smtp-sink sends one only to EHLO) it inserts
    250-PIPELINING. A duplicate keyword, if the server had it, is harmless."""

    def __init__(self):
        self.partial = b""
        self.at_reply_start = True

    def feed(self, data):
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()  # an unfinished line waits for the rest
        out = []
        for line in lines:
            line += b"\n"
            out.append(line)
            if self.at_reply_start and line.startswith(b"250-"):
                out.append(b"250-PIPELINING\r\n")
            # "250 ..." ends a reply; "250-..." continues it.
            self.at_reply_start = line[3:4] == b" "
        return b"".join(out)


async def pump(reader, writer, delay, announcer=None):
    """Copies reader to writer, each chunk `delay` seconds after it was read."""
    queue = asyncio.Queue()

    async def read():
        try:
            while True:
                data = await reader.read(1 << 16)
                if announcer is not None and data:
                    data = announcer.feed(data)
                    if not data:
                        continue
                await queue.put((time.monotonic() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((time.monotonic() + delay, b""))

    async def write():
        try:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except (ConnectionError, OSError):
                pass

    await asyncio.gather(read(), write())


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("listen_port", type=int)
    ap.add_argument("target_port", type=int)
    ap.add_argument("--delay-ms", type=float, default=10.0)
    ap.add_argument("--announce-pipelining", action="store_true")
    args = ap.parse_args()
    delay = args.delay_ms / 1000.0

    async def handle(client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", args.target_port)
        except OSError:
            client_w.close()
            return
        for w in (client_w, server_w):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        announcer = Announcer() if args.announce_pipelining else None
        await asyncio.gather(
            pump(client_r, server_w, delay),
            pump(server_r, client_w, delay, announcer),
        )

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen_port, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    # Connections still open are cut; nothing is left to flush or report.
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
