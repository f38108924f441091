"""ASGI entry point for multi-process serving (settings from the environment)."""

from healthstack.settings import load_settings
from healthstack.web.app import create_app

app = create_app(load_settings())
