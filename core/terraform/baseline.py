"""checkov checks archops does not enforce by default, each with the written reason it shows.

These are decisions a design makes per workload (replication, geo restriction, extra KMS keys,
opt-in monitoring), not defects of a baseline. They are reported as skipped, with the reason,
never hidden; ``strict`` reviews (``archops validate --strict``) enforce them as failures.
"""

from __future__ import annotations

BASELINE_WAIVERS: dict[str, str] = {
    "CKV_AWS_144": "cross-region replication is a disaster-recovery choice per bucket (it doubles "
                   "storage cost), not a baseline",
    "CKV2_AWS_62": "S3 event notifications are configured when something consumes them",
    "CKV_AWS_145": "S3 encrypts every object by default (SSE-S3); a customer-managed KMS key is a "
                   "compliance choice that adds per-request cost",
    "CKV_AWS_158": "CloudWatch Logs encrypts log data at rest by default; a KMS key is a "
                   "compliance choice",
    "CKV_AWS_18": "S3 server access logs are best-effort; CloudTrail is the audit trail",
    "CKV_AWS_374": "geo restriction is a business decision, not a security baseline",
    "CKV_AWS_310": "origin failover needs a second origin: a reliability upgrade chosen per workload",
    "CKV_AWS_394": "the design picks its Availability Zones by index from the region's list",
    "CKV2_AWS_3": "a single-account startup enables GuardDuty per account and region",
    "CKV_AWS_118": "Performance Insights and CloudWatch metrics are the baseline; enhanced "
                   "monitoring is opt-in (it costs per instance)",
    "CKV2_AWS_30": "query logging records every statement; it is turned on while investigating",
    "CKV2_AWS_27": "query logging records every statement; it is turned on while investigating",
    "CKV_AWS_378": "TLS ends at the load balancer; re-encrypting to targets inside the VPC is a "
                   "compliance choice",
}
