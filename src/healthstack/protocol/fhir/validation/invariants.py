"""The profiles' invariants (ElementDefinition.constraint), evaluated with fhirpathpy.

An expression with a native twin (``native_invariants``: exactly the same text) runs
natively; every other one is compiled by fhirpathpy once per package and evaluated on the
element instance, typed by its element path so choice elements resolve. An invariant
fhirpathpy cannot parse or run is skipped and counted, never guessed.
"""

from __future__ import annotations

from typing import Any

from fhirpathpy import compile as fp_compile
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models as fp_models

from healthstack.protocol.fhir.validation.native_invariants import native_for
from healthstack.protocol.fhir.validation.snapshot import Constraint


def _quiet(*_args: Any) -> None:
    return None


class InvariantEngine:
    """Compiles each expression once per package and evaluates it on element instances."""

    def __init__(self, cache: dict[str, Any]) -> None:
        self._compiled: dict[str, Any] = cache.setdefault("fhirpath", {})
        # Keyed by object id: constraints live as long as the package that owns this cache.
        self._natives: dict[int, Any] = cache.setdefault("native", {})
        self._model = fp_models["r4"]

    def evaluate(
        self, c: Constraint, node: Any, base_path: str, resource: dict[str, Any]
    ) -> bool | None:
        """True or False; None when the invariant cannot be evaluated here. ``base_path``
        types the node for fhirpathpy: a datatype name (``Extension``) where the element
        has one, else the element path (``Composition.section``)."""
        native = self._natives.get(id(c), ...)
        if native is ...:
            native = self._natives[id(c)] = native_for(c)
        if native is not None:
            return native(node, resource)
        if not c.expression:
            return None
        fn = self._compiled.get(c.expression, ...)
        if fn is ...:
            try:
                # trace() would print to stdout; a validator stays quiet.
                fn = fp_compile(c.expression, self._model, {"traceFn": _quiet})
            except Exception:  # noqa: BLE001 - any parse failure means "cannot evaluate"
                fn = None
            self._compiled[c.expression] = fn
        if fn is None:
            return None
        target = node if node is resource else ResourceNode.create_node(node, base_path)
        try:
            result = fn(target, {"resource": resource, "rootResource": resource})
        except Exception:  # noqa: BLE001 - e.g. "Not implemented: hasValue"
            return None
        # An invariant fails only when it evaluates to false; empty means "not applicable".
        return not (len(result) == 1 and result[0] is False)
