"""Shared HTTP kit for connectors: one concept per module."""

from connectors._http.auth import Auth, BasicAuth, NoAuth, Outgoing
from connectors._http.client import HttpClient, RetryConfig, parse_retry_after
from connectors._http.errors import (
    DEFAULT_POLICY,
    Action,
    ApiError,
    BudgetExceeded,
    ConnectorError,
    CredentialError,
    ImplausibleReply,
    MalformedReply,
    PaginationLoop,
    Resolution,
    StreamRefused,
    TokenExpired,
    TransientError,
)
from connectors._http.pagination import LoopGuard
from connectors._http.ratelimit import TokenBucket, Unlimited
from connectors._http.reply import ReplyLimits

__all__ = [
    "DEFAULT_POLICY",
    "Action",
    "ApiError",
    "Auth",
    "BasicAuth",
    "BudgetExceeded",
    "ConnectorError",
    "CredentialError",
    "HttpClient",
    "ImplausibleReply",
    "LoopGuard",
    "MalformedReply",
    "NoAuth",
    "Outgoing",
    "PaginationLoop",
    "ReplyLimits",
    "Resolution",
    "StreamRefused",
    "RetryConfig",
    "TokenBucket",
    "TokenExpired",
    "TransientError",
    "Unlimited",
    "parse_retry_after",
]
