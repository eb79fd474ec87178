"""Shoal: a self-hosted speech API platform."""

__version__ = "0.1.0"
