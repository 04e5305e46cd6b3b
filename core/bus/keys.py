"""Every Redis key the bus uses, in one place, under one prefix (tests use their own)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

GROUP = "workers"


@dataclass(frozen=True)
class Keys:
    prefix: str = "archops"
    partitions: int = 16

    def partition_of(self, conversation_id: str) -> int:
        """Stable partition of a conversation: all its requests go to one stream, in order."""
        return zlib.crc32(conversation_id.encode()) % self.partitions

    def ingress(self, partition: int) -> str:
        return f"{self.prefix}:in:{partition}"

    def lease(self, partition: int) -> str:
        return f"{self.prefix}:lease:{partition}"

    def lease_owner(self, partition: int) -> str:
        """Who acquired the partition's lease last (outlives the lease; see scripts.RENEW)."""
        return f"{self.prefix}:lease:{partition}:owner"

    @property
    def queue(self) -> str:
        """Sorted set of accepted, unfinished request ids, scored by acceptance time (ms)."""
        return f"{self.prefix}:queue"

    def user_queue_prefix(self) -> str:
        return f"{self.prefix}:queue:user:"

    def user_queue(self, user: str) -> str:
        """The accepted, unfinished requests of one user."""
        return f"{self.user_queue_prefix()}{user}"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:dead"

    def idem(self, idempotency_key: str) -> str:
        return f"{self.prefix}:idem:{idempotency_key}"

    def request(self, request_id: str) -> str:
        """Hash per request: attempts, status, and the record of its events and effects."""
        return f"{self.prefix}:req:{request_id}"

    def events(self, conversation_id: str) -> str:
        return f"{self.prefix}:ev:{conversation_id}"

    @property
    def changes(self) -> str:
        """Stream naming the event stream each new event went to (capped): a reader that follows
        many conversations (the Slack egress) reads this one stream to learn which of them to
        read, instead of all of them each time."""
        return f"{self.prefix}:ev-changes"

    def watchers(self, conversation_id: str) -> str:
        """Sorted set of client ids following a conversation, scored by expiry (ms)."""
        return f"{self.prefix}:watch:{conversation_id}"

    def client_prefix(self) -> str:
        return f"{self.prefix}:client:"

    def client(self, client_id: str) -> str:
        """Which web instance holds a client's SSE connection (with a TTL)."""
        return f"{self.client_prefix()}{client_id}"

    def instance_prefix(self) -> str:
        return f"{self.prefix}:inst:"

    def instance_channel(self, instance_id: str) -> str:
        return f"{self.instance_prefix()}{instance_id}"
