"""The inventory as a Terraform module a team adopts without recreating anything.

Built with archops' typed module model (:mod:`core.terraform.model`), laid out like the agent's
modules (versions.tf, providers.tf, variables.tf, network.tf, security.tf, compute.tf, data.tf,
storage.tf, loadbalancing.tf, iam.tf) with every resource's real attributes, defaults omitted,
references between resources where the API gives an id (``vpc_id = aws_vpc.prod.id``), and an
``import`` block per resource in imports.tf (Terraform 1.5+: ``terraform plan`` adopts them).

Nothing secret is written: a database's master password is either managed by RDS already
(``manage_master_user_password = true``) or left out and ignored (``lifecycle.ignore_changes``,
documented in the README); a function's environment variables are ignored the same way. What AWS
creates with a VPC (its main route table, its default security group) and default VPCs are not
adopted: managing them takes the ``aws_default_*`` resources, a decision for the team.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from core.terraform.model import Block, Module, Ref, Template, block, jsonencode, resource, variable
from scanner.models import GLOBAL, Inventory, Resource

REQUIRED_VERSION = ">= 1.10"
AWS_VERSION = "~> 6.0"
FILES = {
    "vpc": "network.tf", "subnet": "network.tf", "route_table": "network.tf",
    "internet_gateway": "network.tf", "nat_gateway": "network.tf", "elastic_ip": "network.tf",
    "security_group": "security.tf", "security_group_rule": "security.tf",
    "instance": "compute.tf", "lambda_function": "compute.tf",
    "db_instance": "data.tf", "db_cluster": "data.tf", "db_subnet_group": "data.tf",
    "cache_cluster": "data.tf", "replication_group": "data.tf", "cache_subnet_group": "data.tf",
    "s3_bucket": "storage.tf",
    "load_balancer": "loadbalancing.tf", "target_group": "loadbalancing.tf", "listener": "loadbalancing.tf",
    "classic_load_balancer": "loadbalancing.tf", "iam_role": "iam.tf",
    "hosted_zone": "dns.tf", "dns_record": "dns.tf",
}
DEFAULT_PORTS = {"postgres": 5432, "aurora-postgresql": 5432, "mysql": 3306, "aurora-mysql": 3306,
                 "mariadb": 3306, "redis": 6379, "memcached": 11211, "valkey": 6379}


def nested(type_: str, *children: Block, **attrs: Any) -> Block:
    """A nested block with its children; null attributes are left out."""
    return Block(type_, (), {k: v for k, v in attrs.items() if v is not None}, list(children))


def _slug(text: str) -> str:
    out = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower()
    if not out or not out[0].isalpha():
        out = "r_" + out
    return out[:60]


@dataclass
class Built:
    """The module plus what the scan adopted: address -> import id, id -> address."""

    module: Module
    imports: dict[str, str] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    not_adopted: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def files(self) -> dict[str, str]:
        files = self.module.render()
        files["README.md"] = self.readme()
        return files

    def readme(self) -> str:
        lines = ["# Adopted from an existing AWS account", "",
                 "Terraform written by `archops scan` from what the account holds. Each resource "
                 "carries an `import` block (imports.tf): `terraform plan` adopts it instead of "
                 "creating it; review the plan, apply, then delete imports.tf.", "",
                 f"- {len(self.imports)} resources to import", ""]
        if self.notes:
            lines += ["## Left to you", ""] + [f"- {n}" for n in self.notes] + [""]
        if self.not_adopted:
            lines += ["## Not adopted", "",
                      "Created by AWS with their VPC (or default VPCs): managing them takes the "
                      "`aws_default_*` resources.", ""]
            lines += [f"- {n}" for n in self.not_adopted[:200]] + [""]
        return "\n".join(lines)


class Writer:
    def __init__(self, inventory: Inventory, primary: str | None = None) -> None:
        self.inv = inventory
        self.primary = primary or inventory.regions[0]
        self.module = Module()
        self.built = Built(self.module)
        self.names: dict[str, set[str]] = {}
        self.refs: dict[str, Ref] = {}  # id / arn / name -> reference expression
        self.variables: list[Block] = []
        self.by_id = {x.id: x for x in inventory.resources}
        self._user_data_noted = False

    # -- helpers ---------------------------------------------------------------------------
    def _name(self, rtype: str, r: Resource, hint: str | None = None) -> str:
        base = _slug(hint or r.label)
        taken = self.names.setdefault(rtype, set())
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        return name

    def ref(self, ident: str | None) -> Any:
        """A reference to what the module adopts, else the literal id."""
        if ident is None:
            return None
        return self.refs.get(ident, ident)

    def refs_of(self, ids: list[str]) -> list[Any]:
        return [self.ref(i) for i in sorted(ids)]

    def provider(self, region: str) -> Ref | None:
        if region in (GLOBAL, self.primary):
            return None
        return Ref("aws", _slug(region))

    def add(self, r: Resource, rtype: str, attrs: dict[str, Any], *children: Block,
            import_id: str | None = None, name: str | None = None, file: str | None = None,
            tags: bool = True, ignore: list[str] | None = None) -> str:
        name = name or self._name(rtype, r)
        body = {k: v for k, v in attrs.items() if v is not None}
        provider = self.provider(r.region)
        if provider is not None:
            body = {"provider": provider, **body}
        own_tags = {k: v for k, v in r.tags.items() if not k.startswith("aws:")}
        if tags and own_tags:
            body["tags"] = dict(sorted(own_tags.items()))
        out = resource(rtype, name, *children, **body)
        if ignore:
            out.add(block("lifecycle", ignore_changes=[Ref(i) for i in ignore]))
        self.module.add(file or FILES[r.kind], out)
        address = f"{rtype}.{name}"
        imp = {"to": Ref(rtype, name), "id": import_id or r.id}
        if provider is not None:
            imp = {"provider": provider, **imp}
        self.module.add("imports.tf", Block("import", (), imp))
        self.built.imports[address] = import_id or r.id
        self.built.addresses.setdefault(r.id, address)
        return name

    def _skip(self, r: Resource, why: str = "") -> None:
        self.built.not_adopted.append(f"{r.kind} {r.label} ({r.id}, {r.region}){why}")

    # -- the module ------------------------------------------------------------------------
    def build(self) -> Built:
        inv = self.inv
        self._header()
        order = ["iam_role", "vpc", "subnet", "internet_gateway", "elastic_ip", "nat_gateway", "route_table",
                 "security_group", "security_group_rule", "db_subnet_group", "cache_subnet_group",
                 "instance", "lambda_function", "db_cluster", "db_instance", "cache_cluster",
                 "replication_group", "s3_bucket", "target_group", "load_balancer", "listener",
                 "classic_load_balancer", "hosted_zone", "dns_record"]
        for kind in order:
            for r in inv.of(kind):
                getattr(self, f"_{kind}")(r)
        if self.variables:
            self.module.add("variables.tf", *self.variables)
        return self.built

    def _header(self) -> None:
        terraform = Block("terraform", (), {"required_version": REQUIRED_VERSION})
        terraform.add(Block("required_providers", (), {"aws": {"source": "hashicorp/aws", "version": AWS_VERSION}}))
        self.module.add("versions.tf", terraform)
        self.module.add("providers.tf", Block("provider", ("aws",), {"region": self.primary}))
        for region in self.inv.regions:
            if region != self.primary:
                self.module.add("providers.tf", Block("provider", ("aws",), {"alias": _slug(region), "region": region}))

    def _iam_role(self, r: Resource) -> None:
        a = r.attrs
        name = self.add(r, "aws_iam_role", {
            "name": r.id, "path": a.get("path") if a.get("path") != "/" else None,
            "description": a.get("description") or None,
            "assume_role_policy": jsonencode(a["assume_role_policy"]) if isinstance(a.get("assume_role_policy"), dict) else a.get("assume_role_policy"),
            "max_session_duration": a.get("max_session_duration") if a.get("max_session_duration") not in (None, 3600) else None,
        })
        self.refs[r.arn or r.id] = Ref("aws_iam_role", name, "arn")
        for arn in a.get("managed_policy_arns") or []:
            self.add(r, "aws_iam_role_policy_attachment",
                     {"role": Ref("aws_iam_role", name, "name"), "policy_arn": arn},
                     import_id=f"{r.id}/{arn}", name=self._name("aws_iam_role_policy_attachment", r,
                                                                 f"{r.id}_{arn.rsplit('/', 1)[-1]}"), tags=False)
        for profile in a.get("instance_profiles") or []:
            pname = self.add(r, "aws_iam_instance_profile", {"name": profile, "role": Ref("aws_iam_role", name, "name")},
                             import_id=profile, name=self._name("aws_iam_instance_profile", r, profile), tags=False)
            self.refs[f"instance-profile/{profile}"] = Ref("aws_iam_instance_profile", pname, "name")

    def _vpc(self, r: Resource) -> None:
        if r.aws_default:
            return self._skip(r, ": the default VPC")
        a = r.attrs
        name = self.add(r, "aws_vpc", {
            "cidr_block": a["cidr_block"],
            "instance_tenancy": a.get("instance_tenancy") if a.get("instance_tenancy") not in (None, "default") else None,
            "enable_dns_support": False if a.get("enable_dns_support") is False else None,
            "enable_dns_hostnames": True if a.get("enable_dns_hostnames") else None,
        })
        self.refs[r.id] = Ref("aws_vpc", name, "id")

    def _subnet(self, r: Resource) -> None:
        if r.aws_default:
            return self._skip(r)
        a = r.attrs
        name = self.add(r, "aws_subnet", {
            "vpc_id": self.ref(r.vpc_id), "cidr_block": a["cidr_block"], "availability_zone": a["availability_zone"],
            "map_public_ip_on_launch": True if a.get("map_public_ip_on_launch") else None,
        })
        self.refs[r.id] = Ref("aws_subnet", name, "id")

    def _internet_gateway(self, r: Resource) -> None:
        if r.aws_default:
            return self._skip(r)
        name = self.add(r, "aws_internet_gateway", {"vpc_id": self.ref(r.vpc_id)})
        self.refs[r.id] = Ref("aws_internet_gateway", name, "id")

    def _elastic_ip(self, r: Resource) -> None:
        # its association (to a NAT gateway, an instance) is the other side's: `instance` and
        # `network_interface` are left to the provider, which reads them
        name = self.add(r, "aws_eip", {"domain": r.attrs.get("domain") or "vpc"})
        self.refs[r.id] = Ref("aws_eip", name, "id")

    def _nat_gateway(self, r: Resource) -> None:
        a = r.attrs
        public = a.get("connectivity_type", "public") == "public"
        name = self.add(r, "aws_nat_gateway", {
            "subnet_id": self.ref(r.subnet_ids[0] if r.subnet_ids else None),
            "allocation_id": self.ref(a.get("allocation_id")) if public else None,
            "connectivity_type": None if public else a.get("connectivity_type"),
        })
        self.refs[r.id] = Ref("aws_nat_gateway", name, "id")

    def _route_table(self, r: Resource) -> None:
        if r.aws_default:
            return self._skip(r, ": a main route table")
        routes = []
        for route in r.attrs.get("routes") or []:
            routes.append(nested("route", **{k: self.ref(v) if k.endswith("_id") else v for k, v in route.items()}))
        name = self.add(r, "aws_route_table", {"vpc_id": self.ref(r.vpc_id)}, *routes)
        self.refs[r.id] = Ref("aws_route_table", name, "id")
        for subnet in r.subnet_ids:
            label = self.built.addresses.get(subnet, subnet).split(".")[-1]
            self.add(r, "aws_route_table_association",
                     {"subnet_id": self.ref(subnet), "route_table_id": Ref("aws_route_table", name, "id")},
                     import_id=f"{subnet}/{r.id}", tags=False,
                     name=self._name("aws_route_table_association", r, label))

    def _security_group(self, r: Resource) -> None:
        if r.aws_default:
            return self._skip(r, ": a default security group")
        name = self.add(r, "aws_security_group", {
            "name": r.attrs["name"], "description": r.attrs.get("description"), "vpc_id": self.ref(r.vpc_id)})
        self.refs[r.id] = Ref("aws_security_group", name, "id")

    def _security_group_rule(self, r: Resource) -> None:
        group = self.by_id.get(r.parent or "")
        if group is None or group.aws_default:
            return
        a = r.attrs
        every = a.get("ip_protocol") == "-1"
        rtype = "aws_vpc_security_group_egress_rule" if a.get("egress") else "aws_vpc_security_group_ingress_rule"
        parent = self.built.addresses.get(group.id, group.id).split(".")[-1]
        port = "all" if every else f"{a.get('ip_protocol')}_{a.get('from_port')}"
        self.add(r, rtype, {
            "security_group_id": self.ref(group.id), "ip_protocol": a.get("ip_protocol"),
            "from_port": None if every else a.get("from_port"), "to_port": None if every else a.get("to_port"),
            "cidr_ipv4": a.get("cidr_ipv4"), "cidr_ipv6": a.get("cidr_ipv6"),
            "prefix_list_id": a.get("prefix_list_id"),
            "referenced_security_group_id": self.ref(a.get("referenced_security_group_id")),
            "description": a.get("description") or None,
        }, name=self._name(rtype, r, f"{parent}_{port}"))

    def _db_subnet_group(self, r: Resource) -> None:
        name = self.add(r, "aws_db_subnet_group", {
            "name": r.id, "description": r.attrs.get("description") if r.attrs.get("description") != "Managed by Terraform" else None,
            "subnet_ids": self.refs_of(r.subnet_ids)})
        self.refs[f"dbsubnet/{r.region}/{r.id}"] = Ref("aws_db_subnet_group", name, "name")

    def _cache_subnet_group(self, r: Resource) -> None:
        name = self.add(r, "aws_elasticache_subnet_group", {
            "name": r.id, "description": r.attrs.get("description") if r.attrs.get("description") != "Managed by Terraform" else None,
            "subnet_ids": self.refs_of(r.subnet_ids)})
        self.refs[f"cachesubnet/{r.region}/{r.id}"] = Ref("aws_elasticache_subnet_group", name, "name")

    def _instance(self, r: Resource) -> None:
        a = r.attrs
        profile = a.get("instance_profile")
        name = self.add(r, "aws_instance", {
            "ami": a["ami"], "instance_type": a["instance_type"],
            "subnet_id": self.ref(r.subnet_ids[0] if r.subnet_ids else None),
            "vpc_security_group_ids": self.refs_of(r.security_group_ids) or None,
            "key_name": a.get("key_name"),
            "iam_instance_profile": self.refs.get(f"instance-profile/{profile}", profile) if profile else None,
            "ebs_optimized": True if a.get("ebs_optimized") else None,
            "monitoring": True if a.get("monitoring") else None,
        }, ignore=["user_data", "user_data_base64"])
        self.refs[r.id] = Ref("aws_instance", name, "id")
        if not self._user_data_noted:
            self._user_data_noted = True
            self.built.notes.append("instances: user data is not read (it often holds secrets); "
                                    "`lifecycle.ignore_changes` keeps it as it is")

    def _lambda_function(self, r: Resource) -> None:
        a = r.attrs
        children = []
        if r.subnet_ids:
            children.append(block("vpc_config", subnet_ids=self.refs_of(r.subnet_ids),
                                  security_group_ids=self.refs_of(r.security_group_ids)))
        ignore = ["filename", "source_code_hash"]
        if a.get("environment_keys"):
            ignore.append("environment")
            self.built.notes.append(
                f"function {r.id}: its environment variables ({', '.join(a['environment_keys'])}) are not "
                "written (they may hold secrets) and `lifecycle.ignore_changes` keeps them as they are; "
                "move secrets to Secrets Manager")
        image = a.get("package_type") == "Image"
        self.add(r, "aws_lambda_function", {
            "function_name": r.id, "role": self.ref(r.role_arn),
            "package_type": "Image" if image else None,
            "filename": None if image else Template(Ref("path", "module"), f"/functions/{r.id}.zip"),
            "handler": a.get("handler"), "runtime": a.get("runtime"),
            "memory_size": a.get("memory_size") if a.get("memory_size") not in (None, 128) else None,
            "timeout": a.get("timeout") if a.get("timeout") not in (None, 3) else None,
            "architectures": a.get("architectures") if a.get("architectures") not in (None, ["x86_64"]) else None,
            "description": a.get("description") or None,
        }, *children, ignore=ignore)
        self.built.notes.append(f"function {r.id}: its code is not in the module; "
                                f"put the package at functions/{r.id}.zip (ignored until it changes)")

    def _password(self, r: Resource, what: str) -> list[str]:
        var_name = _slug(f"{r.id}_master_password")
        self.variables.append(variable(
            var_name, "string",
            f"The master password of {what} {r.id}: never read from the account. It is ignored "
            "(lifecycle.ignore_changes) while it stays null; set it, and remove the ignore, only "
            "to rotate the password through Terraform.", None, sensitive=True))
        self.built.notes.append(
            f"{what} {r.id}: the master password is not in the module (variable `{var_name}`, ignored); "
            "consider `manage_master_user_password = true` to let RDS keep it in Secrets Manager")
        return ["password" if what == "database" else "master_password"]

    def _db_cluster(self, r: Resource) -> None:
        a = r.attrs
        ignore = self._password(r, "cluster")
        name = self.add(r, "aws_rds_cluster", {
            "cluster_identifier": r.id, "engine": a["engine"], "engine_version": a.get("engine_version"),
            "master_username": a.get("master_username"),
            "master_password": Ref("var", _slug(f"{r.id}_master_password")),
            "db_subnet_group_name": self.ref(f"dbsubnet/{r.region}/{a.get('db_subnet_group_name')}")
            if a.get("db_subnet_group_name") else None,
            "vpc_security_group_ids": self.refs_of(r.security_group_ids) or None,
            "storage_encrypted": True if a.get("storage_encrypted") else None,
            "backup_retention_period": a.get("backup_retention_period") if a.get("backup_retention_period") not in (None, 1) else None,
            "port": a.get("port") if a.get("port") not in (None, DEFAULT_PORTS.get(a["engine"])) else None,
            "database_name": a.get("database_name"),
            "deletion_protection": True if a.get("deletion_protection") else None,
        }, ignore=ignore)
        self.refs[f"cluster/{r.region}/{r.id}"] = Ref("aws_rds_cluster", name, "id")

    def _db_instance(self, r: Resource) -> None:
        a = r.attrs
        if a.get("cluster_identifier"):
            self.add(r, "aws_rds_cluster_instance", {
                "identifier": r.id,
                "cluster_identifier": self.ref(f"cluster/{r.region}/{a['cluster_identifier']}")
                if f"cluster/{r.region}/{a['cluster_identifier']}" in self.refs else a["cluster_identifier"],
                "instance_class": a["instance_class"], "engine": a["engine"],
                "publicly_accessible": True if a.get("publicly_accessible") else None,
            })
            return
        ignore = self._password(r, "database")
        self.add(r, "aws_db_instance", {
            "identifier": r.id, "engine": a["engine"], "engine_version": a.get("engine_version"),
            "instance_class": a["instance_class"], "allocated_storage": a.get("allocated_storage"),
            "storage_type": a.get("storage_type") if a.get("storage_type") not in (None, "gp2") else None,
            "storage_encrypted": True if a.get("storage_encrypted") else None,
            "username": a.get("master_username"),
            "password": Ref("var", _slug(f"{r.id}_master_password")),
            "db_subnet_group_name": self.ref(f"dbsubnet/{r.region}/{a.get('db_subnet_group_name')}")
            if a.get("db_subnet_group_name") else None,
            "vpc_security_group_ids": self.refs_of(r.security_group_ids) or None,
            "multi_az": True if a.get("multi_az") else None,
            "publicly_accessible": True if a.get("publicly_accessible") else None,
            "backup_retention_period": a.get("backup_retention_period") if a.get("backup_retention_period") not in (None, 0) else None,
            "port": a.get("port") if a.get("port") not in (None, DEFAULT_PORTS.get(a["engine"])) else None,
            "deletion_protection": True if a.get("deletion_protection") else None,
            "monitoring_interval": a.get("monitoring_interval") or None,
            "monitoring_role_arn": self.ref(r.role_arn) if a.get("monitoring_interval") else None,
        }, ignore=ignore)

    def _cache_ref(self, r: Resource) -> Any:
        group = r.attrs.get("subnet_group_name")
        if not group:
            return None
        return self.refs.get(f"cachesubnet/{r.region}/{group}", group)

    def _cache_cluster(self, r: Resource) -> None:
        a = r.attrs
        self.add(r, "aws_elasticache_cluster", {
            "cluster_id": r.id, "engine": a["engine"], "engine_version": a.get("engine_version"),
            "node_type": a["node_type"], "num_cache_nodes": a.get("num_cache_nodes"),
            "subnet_group_name": self._cache_ref(r),
            "security_group_ids": self.refs_of(r.security_group_ids) or None,
        })

    def _replication_group(self, r: Resource) -> None:
        a = r.attrs
        self.add(r, "aws_elasticache_replication_group", {
            "replication_group_id": r.id, "description": a.get("description") or r.id,
            "engine": a.get("engine") if a.get("engine") != "redis" else None,
            "engine_version": a.get("engine_version"), "node_type": a["node_type"],
            "num_cache_clusters": a.get("num_cache_clusters"),
            "subnet_group_name": self._cache_ref(r),
            "security_group_ids": self.refs_of(r.security_group_ids) or None,
            "automatic_failover_enabled": True if a.get("automatic_failover") else None,
            "multi_az_enabled": True if a.get("multi_az") else None,
            "at_rest_encryption_enabled": True if a.get("at_rest_encryption_enabled") else None,
            "transit_encryption_enabled": True if a.get("transit_encryption_enabled") else None,
        })

    def _s3_bucket(self, r: Resource) -> None:
        a = r.attrs
        name = self.add(r, "aws_s3_bucket", {"bucket": r.id})
        bucket = Ref("aws_s3_bucket", name, "id")
        if a.get("versioning") in ("Enabled", "Suspended"):
            self.add(r, "aws_s3_bucket_versioning", {"bucket": bucket},
                     block("versioning_configuration", status=a["versioning"]), name=name, tags=False)
        enc = a.get("encryption")
        if enc and enc.get("sse_algorithm"):
            rule = nested("rule", nested("apply_server_side_encryption_by_default", sse_algorithm=enc["sse_algorithm"],
                                         kms_master_key_id=enc.get("kms_master_key_id")),
                          bucket_key_enabled=True if enc.get("bucket_key_enabled") else None)
            self.add(r, "aws_s3_bucket_server_side_encryption_configuration", {"bucket": bucket}, rule,
                     name=name, tags=False)
        pab = a.get("public_access_block")
        if pab:
            self.add(r, "aws_s3_bucket_public_access_block", {
                "bucket": bucket, "block_public_acls": pab.get("BlockPublicAcls") or None,
                "block_public_policy": pab.get("BlockPublicPolicy") or None,
                "ignore_public_acls": pab.get("IgnorePublicAcls") or None,
                "restrict_public_buckets": pab.get("RestrictPublicBuckets") or None}, name=name, tags=False)
        if a.get("policy"):
            policy = a["policy"]
            self.add(r, "aws_s3_bucket_policy", {
                "bucket": bucket, "policy": jsonencode(policy) if isinstance(policy, dict) else policy},
                name=name, tags=False)

    def _target_group(self, r: Resource) -> None:
        a = r.attrs
        children = []
        if a.get("health_check_path") not in (None, "/"):
            children.append(block("health_check", path=a["health_check_path"]))
        name = self.add(r, "aws_lb_target_group", {
            "name": r.name, "port": a.get("port"), "protocol": a.get("protocol"), "vpc_id": self.ref(r.vpc_id),
            "target_type": a.get("target_type") if a.get("target_type") not in (None, "instance") else None,
        }, *children)
        self.refs[r.id] = Ref("aws_lb_target_group", name, "arn")
        if a.get("registered"):
            self.built.notes.append(
                f"target group {r.name}: its {len(a['registered'])} registered targets are not adopted "
                "(aws_lb_target_group_attachment cannot be imported); register them from the module "
                "that owns the targets")

    def _load_balancer(self, r: Resource) -> None:
        a = r.attrs
        name = self.add(r, "aws_lb", {
            "name": r.name, "internal": True if a.get("internal") else None,
            "load_balancer_type": a.get("type") if a.get("type") != "application" else None,
            "subnets": self.refs_of(r.subnet_ids), "security_groups": self.refs_of(r.security_group_ids) or None,
        })
        self.refs[r.id] = Ref("aws_lb", name, "arn")

    def _listener(self, r: Resource) -> None:
        a = r.attrs
        actions = []
        for act in a.get("default_actions") or []:
            if act.get("type") == "forward" and act.get("target_group_arn"):
                actions.append(block("default_action", type="forward", target_group_arn=self.ref(act["target_group_arn"])))
            elif act.get("type") == "redirect" and act.get("redirect"):
                rd = act["redirect"]
                actions.append(nested("default_action", nested("redirect", **{k: v for k, v in {
                    "status_code": rd.get("StatusCode"), "protocol": rd.get("Protocol"), "port": rd.get("Port"),
                    "host": rd.get("Host"), "path": rd.get("Path"), "query": rd.get("Query")}.items() if v}),
                    type="redirect"))
            elif act.get("type") == "fixed-response" and act.get("fixed_response"):
                fr = act["fixed_response"]
                actions.append(nested("default_action", nested("fixed_response", **{k: v for k, v in {
                    "content_type": fr.get("ContentType"), "status_code": fr.get("StatusCode"),
                    "message_body": fr.get("MessageBody")}.items() if v}), type="fixed-response"))
        lb = self.by_id.get(r.parent or "")
        secure = a.get("protocol") in ("HTTPS", "TLS")
        self.add(r, "aws_lb_listener", {
            "load_balancer_arn": self.ref(r.parent), "port": a.get("port"), "protocol": a.get("protocol"),
            "ssl_policy": a.get("ssl_policy") if secure else None,
            "certificate_arn": (a.get("certificate_arns") or [None])[0] if secure else None,
        }, *actions, name=self._name("aws_lb_listener", r, f"{lb.label if lb else 'lb'}_{a.get('port')}"))


    def _classic_load_balancer(self, r: Resource) -> None:
        a = r.attrs
        listeners = [nested("listener", lb_port=li["lb_port"], lb_protocol=li["lb_protocol"].lower(),
                            instance_port=li["instance_port"], instance_protocol=li["instance_protocol"].lower(),
                            ssl_certificate_id=li.get("ssl_certificate_id"))
                     for li in a.get("listeners") or []]
        self.add(r, "aws_elb", {
            "name": r.id, "internal": True if a.get("internal") else None,
            "subnets": self.refs_of(r.subnet_ids) or None,
            "availability_zones": None if r.subnet_ids else a.get("availability_zones") or None,
            "security_groups": self.refs_of(r.security_group_ids) or None,
            "instances": self.refs_of(r.targets) or None,
        }, *listeners)


    def _hosted_zone(self, r: Resource) -> None:
        a = r.attrs
        vpcs = [nested("vpc", vpc_id=self.ref(v["vpc_id"]),
                       vpc_region=v["region"] if v["region"] != self.primary else None) for v in a.get("vpcs") or []]
        name = self.add(r, "aws_route53_zone", {
            "name": a["name"], "comment": a.get("comment") if a.get("comment") not in (None, "", "Managed by Terraform") else None,
        }, *vpcs)
        self.refs[r.id] = Ref("aws_route53_zone", name, "zone_id")

    def _dns_record(self, r: Resource) -> None:
        if r.aws_default:
            return self._skip(r, ": the zone's own NS/SOA record")
        a = r.attrs
        if a.get("set_identifier"):
            return self._skip(r, ": a record with a routing policy (weighted, latency...), not read")
        children = []
        alias = a.get("alias")
        target = self.by_id.get(r.targets[0]) if r.targets else None
        if alias:
            lb = self.built.addresses.get(target.id) if target else None
            children.append(nested(
                "alias", name=Ref(*lb.split("."), "dns_name") if lb else alias["dns_name"],
                zone_id=Ref(*lb.split("."), "zone_id") if lb else alias["zone_id"],
                evaluate_target_health=alias.get("evaluate_target_health", False)))
        zone = self.by_id.get(r.parent or "")
        self.add(r, "aws_route53_record", {
            "zone_id": self.ref(r.parent), "name": a["name"], "type": a["type"],
            "ttl": None if alias else a.get("ttl"), "records": None if alias else sorted(a.get("records") or []),
        }, *children, tags=False,
            name=self._name("aws_route53_record", r, f"{a['name'].removesuffix('.' + zone.label) if zone else a['name']}_{a['type']}"))


def to_terraform(inventory: Inventory, primary: str | None = None) -> Built:
    """The adoptable module (see the module docstring)."""
    return Writer(inventory, primary).build()


def to_module(inventory: Inventory, primary: str | None = None) -> Module:
    return to_terraform(inventory, primary).module
