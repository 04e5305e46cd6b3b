"""The Redis message bus: ingress streams, the worker that consumes them, per-conversation events.

The public surface is what the edges and workers need; see the modules for the guarantees.
"""

from core.bus.egress import EventLog
from core.bus.ingress import SubmitResult, Submitter
from core.bus.keys import GROUP, Keys
from core.bus.wiring import Bus, bus_from_settings
from core.bus.worker import Worker

__all__ = ["GROUP", "Bus", "EventLog", "bus_from_settings", "Keys", "SubmitResult", "Submitter", "Worker"]
