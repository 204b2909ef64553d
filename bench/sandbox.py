"""A channel sandbox in its own process, so its CPU time never competes with the measured
sync for the GIL (the machine has two cores: one serves, one syncs).

The child seeds the shop, freezes the data clock (the source holds still between the runs
that are compared), serves on a free port and prints one JSON line with its URL and
credentials; it exits when its standard input closes.

With ``shops=True`` the child hosts many shops (``SandboxServer.hosting``): shop *n* at
``<url>/shops/<n>``, seeded with ``seed * 100_000 + n``, made on first use.

Example::

    with SandboxProcess("woocommerce", orders=10_000) as sandbox:
        sandbox.url, sandbox.credentials, sandbox.stats()

    with SandboxProcess("shopee", orders=20, shops=True) as hub:
        hub.shops(0, 1000)   # [(base URL, credentials)] of shops 0..999
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]


class SandboxProcess:
    def __init__(self, channel: str, *, orders: int, seed: int = 1, shops: bool = False) -> None:
        self.channel, self.orders, self.seed, self.many = channel, orders, seed, shops
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.credentials: dict[str, Any] = {}

    def __enter__(self) -> "SandboxProcess":
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.sandbox", self.channel, str(self.orders), str(self.seed), *(["--shops"] if self.many else [])],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        line = self._proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"{self.channel} sandbox did not start")
        ready = json.loads(line)
        self.url, self.credentials = ready["url"], ready["credentials"]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.stdin.close()  # type: ignore[union-attr]
            self._proc.wait(timeout=30)

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/_sandbox/stats", timeout=10).json()

    def shops(self, first: int, count: int) -> list[tuple[str, dict[str, Any]]]:
        """(base URL, credentials) of shops ``first .. first + count - 1`` (created now)."""
        out = []
        for start in range(first, first + count, 1000):
            n = min(1000, first + count - start)
            listed = requests.get(f"{self.url}/_sandbox/shops", params={"first": start, "count": n}, timeout=120).json()["shops"]
            out += [(self.url + s["path"], s["credentials"]) for s in listed]
        return out

    def faults(self, **knobs: Any) -> None:
        requests.post(f"{self.url}/_sandbox/faults", json=knobs, timeout=10).raise_for_status()

    def dump_orders(self) -> list[dict[str, Any]]:
        """Every order as the connector would yield it (Decimal numbers, like the connector)."""
        from simpul.jsoncodec import loads

        return loads(requests.get(f"{self.url}/_sandbox/orders", timeout=300).content)["orders"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve one seeded, frozen sandbox until stdin closes (used by bench).")
    parser.add_argument("channel")
    parser.add_argument("orders", type=int)
    parser.add_argument("seed", type=int)
    parser.add_argument("--shops", action="store_true", help="host many shops under /shops/<n>")
    args = parser.parse_args()

    from connectors._sandbox import SandboxServer
    from simpul.channels import get_channel

    sandbox_class = get_channel(args.channel).sandbox_class()
    if args.shops:
        frozen = time.time()

        def make(n: int) -> Any:
            shop = sandbox_class(orders=args.orders, seed=args.seed * 100_000 + n)
            shop.clock.freeze(frozen)
            return shop

        server = SandboxServer.hosting(make, seed=args.seed)
        print(json.dumps({"url": server.url, "credentials": {}}), flush=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        sys.stdin.read()
        return
    app = sandbox_class(orders=args.orders, seed=args.seed)
    app.clock.freeze(app.clock.now())
    server = SandboxServer(app, seed=args.seed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"url": server.url, "credentials": app.demo_credentials()}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or dies)


if __name__ == "__main__":
    main()
