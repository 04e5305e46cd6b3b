"""Real block schemas for the WAFv2 statement tree, patched into the derived plugin schema.

The cdktn-provider-aws bindings type ``rule.statement`` of ``aws_wafv2_web_acl`` and
``aws_wafv2_rule_group`` as ``any``, so the derived schema carries a ``dynamic`` attribute there
and Terraform refuses the block form everybody writes (``statement { ... }``). This module
rebuilds that part of the schema as hashicorp/aws defines it (SDK v2, ``internal/service/wafv2``)
in archops' plugin schema shape:

    BLOCK  = {"attributes": {name: ATTR}, "block_types": {name: NESTED}}
    ATTR   = {"type": CTY, "required": bool, "optional": bool, "computed": bool}
    NESTED = {"nesting": "list" | "set" | "single", "min_items": n, "max_items": n, "block": BLOCK}

The tree is recursive but bounded. Each resource has a root level (3 for both resources):
``and_statement``/``or_statement``/``not_statement`` at level ``n`` hold a ``statement`` list whose
members may again be and/or/not statements of level ``n - 1``; at level 1 only the leaf
statements remain. ``rate_based_statement`` and ``managed_rule_group_statement`` carry a
``scope_down_statement`` one level lower than the statement they sit in, and the scope-down
statement offers neither of those two (nor a rule group reference), so the tree ends there.

Nested-block item counts follow what terraform-plugin-sdk v2 reports to Terraform: ``MaxItems``
as written; ``MinItems`` as written, raised to 1 for a ``Required`` block that sets none, and
dropped to 0 for an ``Optional`` block (the SDK has always ignored ``MinItems`` there).

Every block is a fresh dict (nothing shared), so the expanded trees are large: patched, the two
resources add about 3.6 MB to ``plugin-schema-aws.json`` and 0.9 MB to its ``.pb``, much as the
real provider's schema is large there.

Use :func:`patch` on a loaded plugin schema; :func:`statement_block` gives one root
``statement`` block on its own.
"""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]
Nested = dict[str, Any]

# Root statement levels of the two resources (the provider's ``consts.go``).
WEB_ACL_ROOT_LEVEL = 3
RULE_GROUP_ROOT_LEVEL = 3

# Which root each patched resource uses, and at which level.
RESOURCES: dict[str, tuple[str, int]] = {
    "aws_wafv2_web_acl": ("web_acl", WEB_ACL_ROOT_LEVEL),
    "aws_wafv2_rule_group": ("rule_group", RULE_GROUP_ROOT_LEVEL),
}

ROOTS = ("web_acl", "rule_group")


# --- small builders -----------------------------------------------------------------------------


def _attr(
    cty: Any, *, required: bool = False, optional: bool = False, computed: bool = False
) -> dict:
    return {"type": cty, "required": required, "optional": optional, "computed": computed}


def _req(cty: Any = "string") -> dict:
    return _attr(cty, required=True)


def _opt(cty: Any = "string") -> dict:
    return _attr(cty, optional=True)


def _opt_computed(cty: Any = "string") -> dict:
    return _attr(cty, optional=True, computed=True)


def _block(attributes: dict | None = None, **block_types: Nested) -> Block:
    return {"attributes": dict(attributes or {}), "block_types": block_types}


def _nested(
    block: Block,
    *,
    required: bool = False,
    min_items: int = 0,
    max_items: int = 0,
    nesting: str = "list",
) -> Nested:
    """An SDK v2 ``TypeList``/``TypeSet`` of ``*schema.Resource`` as Terraform sees it."""
    if required and min_items == 0:
        min_items = 1
    if not required:
        min_items = 0
    return {"nesting": nesting, "min_items": min_items, "max_items": max_items, "block": block}


def _one(block: Block, *, required: bool = False) -> Nested:
    """A ``TypeList`` with ``MaxItems: 1``."""
    return _nested(block, required=required, max_items=1)


def _empty() -> Nested:
    """An optional single block without arguments (``method {}``, ``all {}``...)."""
    return _one(_block())


def _named(*, text_transformation: bool = False) -> Nested:
    """An optional single block with a required ``name`` (and text transformations)."""
    extra = {"text_transformation": _text_transformation()} if text_transformation else {}
    return _one(_block({"name": _req()}, **extra))


def _identifier() -> Block:
    return _block({"identifier": _req()})


# --- shared parts -------------------------------------------------------------------------------


def _text_transformation() -> Nested:
    return _nested(
        _block({"priority": _req("number"), "type": _req()}),
        required=True,
        min_items=1,
        nesting="set",
    )


def _forwarded_ip_config() -> Nested:
    return _one(_block({"fallback_behavior": _req(), "header_name": _req()}))


def _ja_fingerprint() -> Nested:
    return _one(_block({"fallback_behavior": _req()}))


def _custom_request_handling() -> Nested:
    header = _block({"name": _req(), "value": _req()})
    return _one(_block(insert_header=_nested(header, required=True, min_items=1, nesting="set")))


def _custom_response() -> Nested:
    header = _block({"name": _req(), "value": _req()})
    return _one(
        _block(
            {"custom_response_body_key": _opt(), "response_code": _req("number")},
            response_header=_nested(header, nesting="set"),
        )
    )


def _request_handling_action() -> Nested:
    """``allow``, ``captcha``, ``challenge`` and ``count`` all take custom request handling."""
    return _one(_block(custom_request_handling=_custom_request_handling()))


def _block_action() -> Nested:
    return _one(_block(custom_response=_custom_response()))


def _rule_action_override() -> Nested:
    action_to_use = _block(
        allow=_request_handling_action(),
        block=_block_action(),
        captcha=_request_handling_action(),
        challenge=_request_handling_action(),
        count=_request_handling_action(),
    )
    return _nested(
        _block({"name": _req()}, action_to_use=_one(action_to_use, required=True)), max_items=100
    )


# --- field_to_match -----------------------------------------------------------------------------


def _cookies() -> Nested:
    pattern = _block(
        {
            "excluded_cookies": _opt(["list", "string"]),
            "included_cookies": _opt(["list", "string"]),
        },
        all=_empty(),
    )
    return _one(
        _block(
            {"match_scope": _req(), "oversize_handling": _req()},
            match_pattern=_nested(pattern, required=True),
        )
    )


def _headers() -> Nested:
    pattern = _block(
        {
            "excluded_headers": _opt(["list", "string"]),
            "included_headers": _opt(["list", "string"]),
        },
        all=_empty(),
    )
    return _nested(
        _block(
            {"match_scope": _req(), "oversize_handling": _req()},
            match_pattern=_nested(pattern, required=True, min_items=1, max_items=1),
        )
    )


def _json_body() -> Nested:
    pattern = _block({"included_paths": _opt(["list", "string"])}, all=_empty())
    return _one(
        _block(
            {
                "invalid_fallback_behavior": _opt(),
                "match_scope": _req(),
                "oversize_handling": _opt(),
            },
            match_pattern=_one(pattern, required=True),
        )
    )


def _field_to_match() -> Nested:
    return _one(
        _block(
            all_query_arguments=_empty(),
            body=_one(_block({"oversize_handling": _opt()})),
            cookies=_cookies(),
            header_order=_nested(_block({"oversize_handling": _req()})),
            headers=_headers(),
            ja3_fingerprint=_ja_fingerprint(),
            ja4_fingerprint=_ja_fingerprint(),
            json_body=_json_body(),
            method=_empty(),
            query_string=_empty(),
            single_header=_named(),
            single_query_argument=_named(),
            uri_fragment=_one(_block({"fallback_behavior": _opt_computed()})),
            uri_path=_empty(),
        )
    )


def _inspected(attributes: dict | None = None, **block_types: Nested) -> Nested:
    """A statement that inspects ``field_to_match`` after ``text_transformation``."""
    return _one(
        _block(
            attributes,
            field_to_match=_field_to_match(),
            text_transformation=_text_transformation(),
            **block_types,
        )
    )


# --- leaf statements ----------------------------------------------------------------------------


def _leaf_statements() -> dict[str, Nested]:
    """The statements without sub-statements, offered at every level."""
    ip_set_forwarded = _one(
        _block({"fallback_behavior": _req(), "header_name": _req(), "position": _req()})
    )
    return {
        "asn_match_statement": _one(
            _block(
                {"asn_list": _req(["list", "number"])}, forwarded_ip_config=_forwarded_ip_config()
            )
        ),
        "byte_match_statement": _inspected(
            {"positional_constraint": _req(), "search_string": _req()}
        ),
        "geo_match_statement": _one(
            _block(
                {"country_codes": _req(["list", "string"])},
                forwarded_ip_config=_forwarded_ip_config(),
            )
        ),
        "ip_set_reference_statement": _one(
            _block({"arn": _req()}, ip_set_forwarded_ip_config=ip_set_forwarded)
        ),
        "label_match_statement": _one(_block({"key": _req(), "scope": _req()})),
        "regex_match_statement": _inspected({"regex_string": _req()}),
        "regex_pattern_set_reference_statement": _inspected({"arn": _req()}),
        "size_constraint_statement": _inspected(
            {"comparison_operator": _req(), "size": _req("number")}
        ),
        "sqli_match_statement": _inspected({"sensitivity_level": _opt()}),
        "xss_match_statement": _inspected(),
    }


# --- recursive statements -----------------------------------------------------------------------


def logical_statement(level: int) -> Nested:
    """``and_statement``/``or_statement``/``not_statement`` of ``level`` (1 = leaves only)."""
    if level < 1:
        raise ValueError(f"statement level must be at least 1, got {level}")
    members = _leaf_statements()
    if level > 1:
        members.update(_logical_statements(level - 1))
    return _one(_block(statement=_nested(_block(**members), required=True)))


def _logical_statements(level: int) -> dict[str, Nested]:
    return {
        name: logical_statement(level)
        for name in ("and_statement", "not_statement", "or_statement")
    }


def scope_down_statement(level: int) -> Nested:
    """The optional statement narrowing a rate-based or managed rule group statement."""
    return _one(_block(**_leaf_statements(), **_logical_statements(level)))


def _rate_based_statement(level: int) -> Nested:
    custom_key = _block(
        asn=_empty(),
        cookie=_named(text_transformation=True),
        forwarded_ip=_empty(),
        header=_named(text_transformation=True),
        http_method=_empty(),
        ip=_empty(),
        ja3_fingerprint=_ja_fingerprint(),
        ja4_fingerprint=_ja_fingerprint(),
        label_namespace=_one(_block({"namespace": _req()})),
        query_argument=_named(text_transformation=True),
        query_string=_one(_block(text_transformation=_text_transformation())),
        uri_path=_one(_block(text_transformation=_text_transformation())),
    )
    return _one(
        _block(
            {
                "aggregate_key_type": _opt(),
                "evaluation_window_sec": _opt("number"),
                "limit": _req("number"),
            },
            custom_key=_nested(custom_key, min_items=1, max_items=5),
            forwarded_ip_config=_forwarded_ip_config(),
            scope_down_statement=scope_down_statement(level - 1),
        )
    )


# --- managed rule groups ------------------------------------------------------------------------


def _response_inspection() -> Nested:
    def values(key: str, extra: dict) -> Block:
        return _block(
            {
                f"failure_{key}": _req(["set", "string"]),
                f"success_{key}": _req(["set", "string"]),
                **extra,
            }
        )

    return _one(
        _block(
            body_contains=_one(values("strings", {})),
            header=_one(values("values", {"name": _req()})),
            json=_one(values("values", {"identifier": _req()})),
            status_code=_one(
                _block(
                    {
                        "failure_codes": _req(["set", "number"]),
                        "success_codes": _req(["set", "number"]),
                    }
                )
            ),
        )
    )


def _acfp_request_inspection() -> Nested:
    identifiers = _block({"identifiers": _req(["list", "string"])})
    return _one(
        _block(
            {"payload_type": _req()},
            address_fields=_one(identifiers),
            email_field=_one(_identifier()),
            password_field=_one(_identifier()),
            phone_number_fields=_one(identifiers),
            username_field=_one(_identifier()),
        ),
        required=True,
    )


def _atp_request_inspection() -> Nested:
    return _one(
        _block(
            {"payload_type": _req()},
            password_field=_one(_identifier(), required=True),
            username_field=_one(_identifier(), required=True),
        )
    )


def _managed_rule_group_configs() -> Nested:
    acfp = _block(
        {
            "creation_path": _req(),
            "enable_regex_in_path": _opt_computed("bool"),
            "registration_page_path": _req(),
        },
        request_inspection=_acfp_request_inspection(),
        response_inspection=_response_inspection(),
    )
    challenge = _block(
        {"sensitivity": _opt(), "usage_of_action": _req()},
        exempt_uri_regular_expression=_nested(_block({"regex_string": _opt()}), max_items=5),
    )
    anti_ddos = _block(
        {"sensitivity_to_block": _opt()},
        client_side_action_config=_one(
            _block(challenge=_one(challenge, required=True)), required=True
        ),
    )
    atp = _block(
        {"enable_regex_in_path": _opt_computed("bool"), "login_path": _req()},
        request_inspection=_atp_request_inspection(),
        response_inspection=_response_inspection(),
    )
    bot_control = _block(
        {"enable_machine_learning": _opt_computed("bool"), "inspection_level": _req()}
    )
    return _nested(
        _block(
            {"login_path": _opt(), "payload_type": _opt()},
            aws_managed_rules_acfp_rule_set=_one(acfp),
            aws_managed_rules_anti_ddos_rule_set=_one(anti_ddos),
            aws_managed_rules_atp_rule_set=_one(atp),
            aws_managed_rules_bot_control_rule_set=_one(bot_control),
            password_field=_one(_identifier()),
            username_field=_one(_identifier()),
        )
    )


def _managed_rule_group_statement(level: int) -> Nested:
    return _one(
        _block(
            {"name": _req(), "vendor_name": _req(), "version": _opt_computed()},
            managed_rule_group_configs=_managed_rule_group_configs(),
            rule_action_override=_rule_action_override(),
            scope_down_statement=scope_down_statement(level - 1),
        )
    )


def _rule_group_reference_statement() -> Nested:
    return _one(_block({"arn": _req()}, rule_action_override=_rule_action_override()))


# --- roots and patching -------------------------------------------------------------------------


def statement_block(level: int, root: str) -> Nested:
    """The ``statement`` block of a ``rule`` in a web ACL (``root="web_acl"``) or a rule group
    (``root="rule_group"``), recursing ``level`` deep; a fresh dict tree on every call.

    A rule group's rules can't reference managed or other rule groups, so only the web ACL root
    has ``managed_rule_group_statement`` and ``rule_group_reference_statement``. ``level`` must
    be at least 2: the scope-down statements sit one level below the root.
    """
    if root not in ROOTS:
        raise ValueError(f"unknown WAFv2 statement root {root!r}; expected one of {ROOTS}")
    if level < 2:
        raise ValueError(f"root statement level must be at least 2, got {level}")
    members = {
        **_leaf_statements(),
        **_logical_statements(level),
        "rate_based_statement": _rate_based_statement(level),
    }
    if root == "web_acl":
        members["managed_rule_group_statement"] = _managed_rule_group_statement(level)
        members["rule_group_reference_statement"] = _rule_group_reference_statement()
    return _one(_block(**members), required=True)


def reference_blocks(resource: str) -> Block:
    """The part of ``resource`` that the derived schema gets wrong, as a partial BLOCK."""
    root, level = RESOURCES[resource]
    return _block(rule=_nested(_block(statement=statement_block(level, root)), nesting="set"))


def _graft(derived: Block, reference: Block, path: str, done: list[str]) -> None:
    """Put each block of ``reference`` that ``derived`` has as an attribute in its place, and
    walk the blocks both have."""
    attributes = derived.setdefault("attributes", {})
    block_types = derived.setdefault("block_types", {})
    for name, nested in reference["block_types"].items():
        here = f"{path}.{name}" if path else name
        if name in attributes:
            del attributes[name]
            block_types[name] = nested
            done.append(here)
        elif name in block_types:
            _graft(block_types[name]["block"], nested["block"], here, done)


def patch(schema: dict[str, Any]) -> None:
    """Give the WAFv2 resources of a loaded plugin schema their real statement blocks, in place.

    Every attribute that the provider declares as a nested block (``rule.statement``, typed
    ``dynamic`` by the bindings, or ``string`` once a derived file has been sanitized for use
    inside the ``rule`` set) is removed from ``attributes`` and the real block put in
    ``block_types``. Resources the schema lacks are skipped; what is already a block is left
    alone, so patching twice changes nothing.
    """
    patched_paths(schema)


def patched_paths(schema: dict[str, Any]) -> dict[str, list[str]]:
    """:func:`patch`, returning the dotted paths it replaced per resource (for logs and tests)."""
    resources = schema.get("resources") or {}
    report: dict[str, list[str]] = {}
    for name in RESOURCES:
        derived = resources.get(name)
        if derived is not None:
            done: list[str] = []
            _graft(derived, reference_blocks(name), "", done)
            report[name] = done
    return report
