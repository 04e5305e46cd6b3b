"""What Slack sends, checked before anything acts on it: bounded parsing and typed shapes.

A request that passed the signature check (:mod:`bot.http`) is parsed here exactly once: the
Events API sends JSON, interactivity a form with one ``payload`` field holding JSON, slash
commands a plain form. JSON is bounded in size and depth before :func:`json.loads` sees it, and
the result must be an object of the shape the edge (and slack-bolt's own context extraction)
reads: strings where strings are read, lists where lists are iterated, objects where keys are
looked up. Whatever fails is a :class:`PayloadError` (HTTP 400 with its reason), never a crash
deeper in; fields archops does not read are let through untouched.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

MAX_BODY_BYTES = 1024 * 1024  # Slack's largest payloads (a message's blocks and state) are far smaller
MAX_JSON_DEPTH = 64
MAX_ACTIONS = 50
MAX_FORM_FIELDS = 100
MAX_LINKS = 50

# a JSON string literal (an unterminated one runs to the end: one linear pass whatever the
# input), or a bracket; strings are skipped so that brackets inside them do not count
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


class PayloadError(ValueError):
    """A signed request whose body archops cannot read: HTTP 400 with ``reason``."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class _Shape(BaseModel):
    # strict: 5 is not a string and "true" not a boolean; extra: Slack adds fields all the time
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


class Ref(_Shape):
    """A team, enterprise, user or channel given as an object."""

    id: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    name: str | None = None


class Authorization(_Shape):
    enterprise_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    is_bot: bool | None = None
    is_enterprise_install: bool | None = None


class MessageRef(_Shape):
    """A message inside a payload (``message``, ``previous_message``)."""

    ts: str | None = None
    thread_ts: str | None = None
    user: str | Ref | None = None
    text: str | None = None


class ViewRef(_Shape):
    app_installed_team_id: str | None = None
    team_id: str | None = None
    type: str | None = None
    callback_id: str | None = None


class ResponseUrl(_Shape):
    response_url: str | None = None


class FunctionData(_Shape):
    execution_id: str | None = None
    inputs: dict[str, Any] | None = None


class ItemRef(_Shape):
    channel: str | Ref | None = None
    ts: str | None = None


class AssistantThread(_Shape):
    channel_id: str | None = None
    thread_ts: str | None = None


class Event(_Shape):
    """Any Events API event: the fields slack-bolt reads to route it."""

    type: str
    subtype: str | None = None
    bot_id: str | None = None
    team: str | None = None
    user_team: str | None = None
    user: str | Ref | None = None
    channel: str | Ref | None = None
    thread_ts: str | None = None
    item: ItemRef | None = None
    assistant_thread: AssistantThread | None = None
    message: MessageRef | None = None
    previous_message: MessageRef | None = None
    function_execution_id: str | None = None
    bot_access_token: str | None = None
    inputs: dict[str, Any] | None = None


class MessageEvent(Event):
    """``app_mention`` and ``message``: what archops turns into a request."""

    type: Literal["app_mention", "message"]
    channel: str = Field(min_length=1, max_length=100)
    ts: str = Field(min_length=1, max_length=40)
    user: str | None = Field(default=None, max_length=100)
    text: str | None = None
    channel_type: str | None = None
    event_ts: str | None = None
    thread_ts: str | None = Field(default=None, max_length=40)


# slack-bolt tests these keys with ``"key" in body`` and then indexes them: present means not null
_PRESENT_NOT_NULL = ("event", "view", "actions", "response_urls", "container", "callback_id",
                     "action_id", "command", "workflow_step")


class Body(_Shape):
    """Every JSON payload: the fields slack-bolt's context extraction and matchers read."""

    @model_validator(mode="before")
    @classmethod
    def _present_means_not_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in _PRESENT_NOT_NULL:
                if key in data and data[key] is None:
                    raise ValueError(f"{key} must not be null")
        return data

    type: str | None = None
    token: str | None = None
    team_id: str | None = None
    enterprise_id: str | None = None
    api_app_id: str | None = None
    user_id: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    team: str | Ref | None = None
    enterprise: str | Ref | None = None
    user: str | Ref | None = None
    channel: str | Ref | None = None
    authorizations: list[Authorization] | None = None
    is_enterprise_install: bool | str | None = None
    is_ext_shared_channel: bool | None = None
    event: Event | None = None
    message: MessageRef | None = None
    previous_message: MessageRef | None = None
    view: ViewRef | None = None
    response_url: str | None = None
    response_urls: list[ResponseUrl] | None = None
    function_execution_id: str | None = None
    bot_access_token: str | None = None
    function_data: FunctionData | None = None
    trigger_id: str | None = None
    callback_id: str | None = None
    action_id: str | None = None
    command: str | None = None
    workflow_step: dict[str, Any] | None = None


class UrlVerification(Body):
    type: Literal["url_verification"]
    challenge: str = Field(max_length=500)


class EventCallback(Body):
    type: Literal["event_callback"]
    event: Event
    event_id: str = Field(min_length=1, max_length=100)


class MessageCallback(EventCallback):
    event: MessageEvent


class SharedLink(_Shape):
    url: str = Field(min_length=1, max_length=3000)
    domain: str | None = None


class LinkSharedEvent(Event):
    type: Literal["link_shared"]
    channel: str = Field(min_length=1, max_length=100)
    user: str = Field(min_length=1, max_length=100)
    message_ts: str = Field(min_length=1, max_length=100)
    unfurl_id: str | None = Field(default=None, max_length=300)
    source: str | None = None
    links: list[SharedLink] = Field(max_length=MAX_LINKS)


class LinkSharedCallback(EventCallback):
    event: LinkSharedEvent


class AppHomeOpenedEvent(Event):
    type: Literal["app_home_opened"]
    user: str = Field(min_length=1, max_length=100)
    tab: str | None = None


class AppHomeCallback(EventCallback):
    event: AppHomeOpenedEvent


class RevokedTokens(_Shape):
    oauth: list[str] = Field(default_factory=list)
    bot: list[str] = Field(default_factory=list)


class TokensRevokedEvent(Event):
    type: Literal["tokens_revoked"]
    tokens: RevokedTokens = Field(default_factory=RevokedTokens)


class TokensRevokedCallback(EventCallback):
    event: TokensRevokedEvent


class SelectedOption(_Shape):
    value: str


class ActionPayload(_Shape):
    """One element of ``actions`` in a block_actions payload."""

    action_id: str = Field(max_length=255)
    type: str
    block_id: str | None = None
    value: str | None = None
    selected_option: SelectedOption | None = None
    action_ts: str | None = None


class Container(_Shape):
    type: str | None = None
    message_ts: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None


class ActingUser(Ref):
    id: str = Field(min_length=1, max_length=100)


class BlockActions(Body):
    type: Literal["block_actions"]
    user: ActingUser
    actions: list[ActionPayload] = Field(min_length=1, max_length=MAX_ACTIONS)
    container: Container | None = None
    channel: Ref | None = None


class InputValue(_Shape):
    """One input's value in a submitted view's state."""

    type: str | None = None
    value: str | None = Field(default=None, max_length=10_000)
    selected_option: SelectedOption | None = None


class ViewState(_Shape):
    values: dict[str, dict[str, InputValue]] = Field(default_factory=dict)


class SubmittedView(ViewRef):
    id: str | None = None
    callback_id: str = Field(min_length=1, max_length=255)
    private_metadata: str = Field(default="", max_length=3000)
    state: ViewState = Field(default_factory=ViewState)


class ViewSubmission(Body):
    type: Literal["view_submission"]
    user: ActingUser
    view: SubmittedView


class Interaction(Body):
    """Any other interactivity payload (view_closed, shortcut, ...): routable, no more."""

    type: str


class SlashCommand(_Shape):
    command: str = Field(min_length=1, max_length=100)
    text: str = ""
    user_id: str = Field(min_length=1, max_length=100)
    channel_id: str = Field(min_length=1, max_length=100)
    team_id: str | None = None
    trigger_id: str = Field(min_length=1, max_length=200)
    response_url: str | None = None


Payload = (UrlVerification | EventCallback | MessageCallback | LinkSharedCallback | AppHomeCallback
           | TokensRevokedCallback | BlockActions | ViewSubmission | Interaction | Body
           | SlashCommand)
_CALLBACKS: dict[str, type[EventCallback]] = {
    "app_mention": MessageCallback, "message": MessageCallback, "link_shared": LinkSharedCallback,
    "app_home_opened": AppHomeCallback, "tokens_revoked": TokensRevokedCallback,
}


# -- parsing ------------------------------------------------------------------------------
def json_depth_ok(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests objects and arrays at most ``limit`` deep (strings skipped)."""
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def load_json_object(text: str, what: str = "the body") -> dict[str, Any]:
    """A JSON object from ``text``, bounded in depth; a PayloadError saying what is wrong."""
    if not json_depth_ok(text):
        raise PayloadError(f"{what} nests JSON deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"{what} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be a JSON object, not {_kind(value)}")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def parse_form(text: str) -> dict[str, str]:
    """A urlencoded form as one value per field (a repeated field is ambiguous: refused)."""
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text),
                          max_num_fields=MAX_FORM_FIELDS, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("the form is not valid urlencoded data") from exc
    repeated = sorted(k for k, v in fields.items() if len(v) != 1)
    if repeated:
        raise PayloadError(f"the form repeats field(s): {', '.join(repeated)}")
    return {k: v[0] for k, v in fields.items()}


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("the body is not valid UTF-8") from exc


def parse_body(content_type: str, raw: bytes) -> tuple[dict[str, Any], Payload]:
    """(the body as slack-bolt expects it, its checked shape) of a signed HTTP request."""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadError(f"the body is larger than {MAX_BODY_BYTES} bytes", status=413)
    text = decode(raw)
    if content_type == "application/json":
        body = load_json_object(text)
    elif content_type == "application/x-www-form-urlencoded":
        form = parse_form(text)
        if "payload" in form:
            body = load_json_object(form["payload"], "the form's payload")
        else:
            body = dict(form)
            return body, check_command(body)
    else:
        raise PayloadError(
            f"unsupported content type {content_type or '(none)'!r}: Slack sends "
            "application/json or application/x-www-form-urlencoded", status=415)
    return body, check_payload(body)


def check_command(form: dict[str, Any]) -> SlashCommand:
    return _validate(SlashCommand, form, "the slash command")


def check_payload(body: dict[str, Any]) -> Payload:
    """The shape of a JSON payload (Events API or interactivity), or a PayloadError."""
    if not isinstance(body, dict):
        raise PayloadError(f"the payload must be a JSON object, not {_kind(body)}")
    if "command" in body and "payload" not in body and not isinstance(body.get("type"), str):
        return check_command(body)  # a slash command over Socket Mode
    kind = body.get("type")
    if kind == "url_verification":
        return _validate(UrlVerification, body)
    if kind == "event_callback":  # validated once, as the kind its event's type names
        event = body.get("event")
        named = event.get("type") if isinstance(event, dict) else None
        return _validate(_CALLBACKS.get(named, EventCallback) if isinstance(named, str)
                         else EventCallback, body)
    if kind == "block_actions":
        return _validate(BlockActions, body)
    if kind == "view_submission":
        return _validate(ViewSubmission, body)
    if isinstance(kind, str):
        return _validate(Interaction, body)
    if kind is None:
        raise PayloadError("the payload has no type")
    raise PayloadError("type: must be a string")


# pydantic names union members in an error's location ("user.str"); a reason shows field paths
_MEMBER_TAGS = frozenset({"str", "bool", "int", "float", "list", "dict", "none"})


def _validate(model: type[Any], data: dict[str, Any], what: str = "the payload") -> Any:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors(include_url=False)[0]
        path = [str(p) for p in first.get("loc", ())
                if not (isinstance(p, str) and (p in _MEMBER_TAGS or p[:1].isupper()
                                                or p.startswith("function-")))]
        where = ".".join(path) or what
        raise PayloadError(f"{where}: {first.get('msg', 'is not valid')}") from exc
