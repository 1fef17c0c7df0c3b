"""A small evaluator of identity-based IAM policy documents, for the deployer policy.

It answers whether a policy allows an action on a resource: Allow and Deny
statements (an explicit Deny wins, anything not allowed is denied), Action and
NotAction with `*` and `?` wildcards matched case-insensitively, and Resource
`*` or ARN patterns with `*` and `?` matched within each ARN segment.

What it does not evaluate, so an answer here is not AWS's answer: Condition
blocks (a statement with a Condition is judged as if the condition held),
NotResource (refused), policy variables, permission boundaries, service control
and resource control policies, session policies, resource-based policies (key
policies, secret policies) and the implicit permissions of service-linked roles.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.errors import FipsKeystoreError

# The service names botocore (and so the emulator's call log) uses, mapped to the
# IAM action prefix. For every service here the IAM action name is the API
# operation name.
SERVICE_PREFIXES: Mapping[str, str] = {
    "cloudhsmv2": "cloudhsm",
    "ec2": "ec2",
    "iam": "iam",
    "kms": "kms",
    "ssm": "ssm",
    "secretsmanager": "secretsmanager",
    "sts": "sts",
}

# AWS answers these for any authenticated caller; no policy can allow or deny them.
ACTIONS_WITHOUT_PERMISSION = frozenset({"sts:getcalleridentity"})

_ARN_SEGMENTS = 6


class IamPolicyError(FipsKeystoreError):
    """A policy document this evaluator cannot read, or a call it cannot map."""


def iam_action(service: str, operation: str) -> str:
    """The IAM action (`cloudhsm:DescribeClusters`) of an API call as botocore names it.

    `service` is the botocore service name (`cloudhsmv2`), `operation` the API
    operation name (`DescribeClusters`).
    """
    prefix = SERVICE_PREFIXES.get(service)
    if prefix is None:
        known = ", ".join(sorted(SERVICE_PREFIXES))
        raise IamPolicyError(
            f"No IAM action prefix is known for AWS service {service!r} (operation "
            f"{operation!r}); known services: {known}. Look the prefix up in the "
            "Service Authorization Reference and add it to "
            "iam_policy.SERVICE_PREFIXES."
        )
    return f"{prefix}:{operation}"


@dataclass(frozen=True)
class Statement:
    """One statement of a policy; its `condition` is kept but never evaluated."""

    sid: str
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Any]

    def matches_action(self, action: str) -> bool:
        """True when Action names `action`, or NotAction does not."""
        if self.actions:
            return any(_action_match(p, action) for p in self.actions)
        return not any(_action_match(p, action) for p in self.not_actions)

    def matches(self, action: str, resource: str) -> bool:
        """True when this statement applies to `action` on `resource`."""
        return self.matches_action(action) and any(
            _resource_match(p, resource) for p in self.resources
        )


class Policy:
    """An identity-based policy document: a list of statements."""

    def __init__(self, statements: Iterable[Statement], source: str = "policy") -> None:
        self.statements = tuple(statements)
        self.source = source

    @classmethod
    def from_file(cls, path: Path | str) -> Policy:
        """Read a JSON policy document from `path`."""
        try:
            document = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise IamPolicyError(
                f"Cannot read the IAM policy {path}: {error}. Give the path of a "
                "JSON policy document."
            ) from error
        return cls.from_document(document, str(path))

    @classmethod
    def from_document(cls, document: Any, source: str = "policy") -> Policy:
        """Build a policy from a parsed JSON document."""
        if not isinstance(document, dict) or "Statement" not in document:
            raise IamPolicyError(
                f"{source} is not an IAM policy document: it needs a top-level "
                "object with a Statement list."
            )
        raw = document["Statement"]
        items = raw if isinstance(raw, list) else [raw]
        return cls(
            (_statement(item, index, source) for index, item in enumerate(items)),
            source,
        )

    def allows(self, action: str, resource: str = "*") -> bool:
        """True when some statement allows `action` on `resource` and none denies it.

        `resource` is matched literally against the statements' patterns: the
        default `*` is the resource of actions that have no resource-level
        permissions, and only a statement with Resource `*` matches it.
        """
        _check_action(action, f"a question to {self.source}")
        if action.lower() in ACTIONS_WITHOUT_PERMISSION:
            return True
        applying = [s for s in self.statements if s.matches(action, resource)]
        if any(s.effect == "Deny" for s in applying):
            return False
        return any(s.effect == "Allow" for s in applying)

    def denied_actions(self, actions: Iterable[str]) -> list[str]:
        """The actions this policy allows on no resource at all, sorted, once each.

        Meant for API calls whose resource is unknown (the emulator logs no
        ARNs): an action missing here is granted somewhere, not necessarily on
        the resource a call used. Check resource scoping with `allows`.
        """
        return sorted({a for a in actions if not self.allows_somewhere(a)})

    def allows_somewhere(self, action: str) -> bool:
        """True when `action` is allowed on one of the resources the policy names."""
        _check_action(action, f"a question to {self.source}")
        candidates = {
            resource
            for statement in self.statements
            if statement.effect == "Allow" and statement.matches_action(action)
            for resource in statement.resources
        }
        return action.lower() in ACTIONS_WITHOUT_PERMISSION or any(
            self.allows(action, resource) for resource in sorted(candidates)
        )


def _statement(item: Any, index: int, source: str) -> Statement:
    where = f"statement {index} of {source}"
    if not isinstance(item, dict):
        raise IamPolicyError(f"{where} is not a JSON object; write it as {{...}}.")
    for unsupported in ("NotResource", "Principal", "NotPrincipal"):
        if unsupported in item:
            raise IamPolicyError(
                f"{where} has {unsupported}, which this evaluator does not handle "
                "(identity-based policies with Resource only); rewrite it with "
                "Resource."
            )

    effect = item.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise IamPolicyError(
            f'{where} has Effect {effect!r}; it must be "Allow" or "Deny".'
        )
    if ("Action" in item) == ("NotAction" in item):
        raise IamPolicyError(f"{where} must have exactly one of Action and NotAction.")
    if "Resource" not in item:
        raise IamPolicyError(f'{where} has no Resource; add "Resource": "*" or ARNs.')

    actions = _strings(item["Action"], where, "Action") if "Action" in item else ()
    not_actions = (
        _strings(item["NotAction"], where, "NotAction") if "NotAction" in item else ()
    )
    for action in (*actions, *not_actions):
        _check_action(action, where)
    return Statement(
        sid=str(item.get("Sid", index)),
        effect=effect,
        actions=actions,
        not_actions=not_actions,
        resources=_strings(item["Resource"], where, "Resource"),
        condition=dict(item.get("Condition") or {}),
    )


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise IamPolicyError(
            f"{where} has {key} {value!r}; it must be a non-empty string or list "
            "of non-empty strings."
        )
    return tuple(items)


def _check_action(action: str, where: str) -> None:
    if action != "*" and not re.fullmatch(r"[A-Za-z0-9-]+:[A-Za-z0-9*?]+", action):
        raise IamPolicyError(
            f"Action {action!r} in {where} is not `*` or `service:Operation` (with "
            "optional * and ? wildcards); write it like kms:CreateKey."
        )


def _action_match(pattern: str, action: str) -> bool:
    return _wildcard(pattern, re.IGNORECASE).fullmatch(action) is not None


def _resource_match(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    patterns = pattern.split(":", _ARN_SEGMENTS - 1)
    values = resource.split(":", _ARN_SEGMENTS - 1)
    if len(patterns) != len(values):
        return False
    return all(
        _wildcard(p, 0).fullmatch(v) is not None
        for p, v in zip(patterns, values, strict=True)
    )


def _wildcard(pattern: str, flags: int) -> re.Pattern[str]:
    """`*` is any run of characters, `?` any one character; nothing else is special."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), flags | re.DOTALL)
