"""The gateway's parts as a process configures them, for the edges that hold the
``Runtime`` (the worker's jobs, routes, the CLI, the demo): the callback sender and a
handler's context. Services and handlers take these parts, never the runtime."""

from __future__ import annotations

from healthstack.network.gateway.routing import CallbackSender, HandlerContext
from healthstack.runtime import Runtime


def callback_sender(runtime: Runtime) -> CallbackSender:
    return CallbackSender.configured(runtime.clock, runtime.settings.gateway)


def handler_context(runtime: Runtime) -> HandlerContext:
    """What the worker hands each handler it runs."""
    settings = runtime.settings
    return HandlerContext(
        clock=runtime.clock,
        sender=callback_sender(runtime),
        keyring=runtime.keyring,
        hasher=runtime.hasher,
        cm_id=settings.abha.cm_id,
        base_url=settings.base_url,
        consent=settings.consent,
    )
