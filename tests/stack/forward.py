"""Forward TCP ports: ``python forward.py LISTEN_HOST TARGET_HOST PORT...`` until killed.

Each PORT on LISTEN_HOST is relayed to the same PORT on TARGET_HOST. The second-host test runs one
on the host (the veth address to the host's loopback services) and one inside the worker's
network namespace (its loopback to the veth address), so the worker reaches exactly the ports
listed and uses the stack's settings unchanged.
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _serve(listen: str, target: str, port: int) -> asyncio.Server:
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    return await asyncio.start_server(relay, listen, port)


async def main(listen: str, target: str, ports: list[int]) -> None:
    """Relay every port until cancelled."""
    servers = [await _serve(listen, target, port) for port in ports]
    print(f"forwarding {listen} -> {target}: {ports}", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]))
