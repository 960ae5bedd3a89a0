"""A client library for accessing DPhi satellite telemetry service"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
