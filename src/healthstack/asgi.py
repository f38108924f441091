"""ASGI entry point for multi-process serving (settings from the environment)."""

from healthstack.app import create_app
from healthstack.settings import load_settings

app = create_app(load_settings())
