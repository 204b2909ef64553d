"""Shared HTTP kit for connectors: one concept per module."""

from connectors._http.auth import Auth, BasicAuth, NoAuth, Outgoing
from connectors._http.client import HttpClient, RetryConfig, parse_retry_after
from connectors._http.errors import (
    DEFAULT_POLICY,
    Action,
    ApiError,
    ConnectorError,
    CredentialError,
    PaginationLoop,
    Resolution,
    TokenExpired,
    TransientError,
)
from connectors._http.pagination import LoopGuard
from connectors._http.ratelimit import TokenBucket, Unlimited

__all__ = [
    "DEFAULT_POLICY",
    "Action",
    "ApiError",
    "Auth",
    "BasicAuth",
    "ConnectorError",
    "CredentialError",
    "HttpClient",
    "LoopGuard",
    "NoAuth",
    "Outgoing",
    "PaginationLoop",
    "Resolution",
    "RetryConfig",
    "TokenBucket",
    "TokenExpired",
    "TransientError",
    "Unlimited",
    "parse_retry_after",
]
