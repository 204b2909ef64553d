"""Shared host for the channel sandboxes (local HTTP twins of the real APIs)."""

from connectors._sandbox.server import Faults, Reply, Request, SandboxApp, SandboxClock, SandboxServer, Shop, ShopDirectory

__all__ = ["Faults", "Reply", "Request", "SandboxApp", "SandboxClock", "SandboxServer", "Shop", "ShopDirectory"]
