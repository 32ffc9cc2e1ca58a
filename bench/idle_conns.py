#!/usr/bin/python3
"""Open N TCP connections to ADDR:PORT, hold them HOLD seconds, print how many succeeded. Bounded in time."""
import asyncio, sys

async def main(host, port, n, hold):
    conns, failed = [], 0
    sem = asyncio.Semaphore(256)
    async def one():
        nonlocal failed
        async with sem:
            try:
                conns.append(await asyncio.wait_for(asyncio.open_connection(host, port), 10))
            except Exception:
                failed += 1
    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), 120)
    print(f"open={len(conns)} failed={failed}", flush=True)
    await asyncio.sleep(hold)
    for _, w in conns:
        w.close()

async def sink(port, hold):
    async def handle(r, w):
        try:
            await r.read()
        finally:
            w.close()
    server = await asyncio.start_server(handle, sys.argv[2], port, backlog=4096)
    async with server:
        await asyncio.sleep(hold)

if sys.argv[1] == "sink":
    asyncio.run(sink(int(sys.argv[3]), float(sys.argv[4])))
else:
    asyncio.run(main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
