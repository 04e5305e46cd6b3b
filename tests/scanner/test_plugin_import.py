"""The offline plan's provider plugin adopts `import` blocks: ImportResourceState answers the
object with its id, ReadResource passes it through, and the plan leaves the rest to the account."""

from __future__ import annotations

from tfplugin import behaviour
from tfplugin.values import UNKNOWN

BLOCK = {
    "attributes": {"id": {"type": "string", "computed": True, "optional": True},
                   "arn": {"type": "string", "computed": True},
                   "cidr_block": {"type": "string", "optional": True},
                   "tags": {"type": ["map", "string"], "optional": True},
                   "tags_all": {"type": ["map", "string"], "computed": True, "optional": True}},
    "block_types": {"timeouts": {"nesting": "single", "block": {"attributes": {}}},
                    "rule": {"nesting": "list", "block": {"attributes": {}}}},
}


def test_imported_object_is_the_id_and_nulls() -> None:
    state = behaviour.import_resource("aws_vpc", BLOCK, "vpc-0abc")
    assert state == {"id": "vpc-0abc", "arn": None, "cidr_block": None, "tags": None, "tags_all": None,
                     "timeouts": None, "rule": []}


def test_plan_of_an_import_leaves_what_the_account_knows_unknown() -> None:
    provider = behaviour.ProviderState("aws", region="us-east-1", default_tags={"Team": "core"})
    prior = behaviour.import_resource("aws_vpc", BLOCK, "vpc-0abc")
    proposed = {**prior, "cidr_block": "10.0.0.0/16", "tags": {"Name": "x"}}
    planned = behaviour.plan_resource(provider, "aws_vpc", BLOCK, proposed, prior)
    assert planned["id"] == "vpc-0abc" and planned["cidr_block"] == "10.0.0.0/16"
    assert planned["arn"] == UNKNOWN
    assert planned["tags_all"] == {"Team": "core", "Name": "x"}


def test_an_update_of_a_real_prior_state_is_unchanged() -> None:
    provider = behaviour.ProviderState("aws", region="us-east-1")
    prior = {"id": "vpc-0abc", "arn": "arn:aws:ec2:...", "cidr_block": "10.0.0.0/16", "tags": None,
             "tags_all": {}, "timeouts": None, "rule": []}
    assert behaviour.plan_resource(provider, "aws_vpc", BLOCK, dict(prior), prior) == prior
