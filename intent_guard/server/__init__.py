"""The HTTP sidecar (``pip install 'intent-guard[server]'``): ``intent-guard serve``."""

from .app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app"]
