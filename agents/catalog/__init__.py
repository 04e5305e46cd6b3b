"""The offline engine's catalog of Well-Architected blueprints (importing it registers them all)."""

from agents.catalog import (
    cdn,
    compute,
    data,
    edge,
    messaging,
    network,
    operations,
    security,
    serverless,
    storage,
)
from agents.catalog.base import (
    CATALOG,
    Blueprint,
    BuildContext,
    Fragment,
    component_words,
    components,
)

__all__ = ["CATALOG", "Blueprint", "BuildContext", "Fragment", "component_words", "components", "cdn", "compute", "data", "edge", "messaging", "network", "operations", "security", "serverless", "storage"]
