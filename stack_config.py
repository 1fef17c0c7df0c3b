"""Typed, validated stack configuration for fips-keystore.

`load_stack_config` reads every key of the `fips-keystore` namespace, fills the
dev defaults and raises one `ConfigError` listing every bad key with the fix.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from providers.customer_ca import load_supplied_ca
from providers.errors import CertificateError, FipsKeystoreError

NAMESPACE = "fips-keystore"
SECRET_KEYS = frozenset({"adminPassword", "kmsuserPassword", "caPrivateKey"})
AL2023_AMI_PARAMETER = (
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
)
HSM_IDENTITY_HELP = (
    "download the AWS CloudHSM root certificate and the HSM manufacturer root "
    "certificate from the CloudHSM user guide page 'Verify the identity and "
    "authenticity of your cluster's HSM'"
)


class ConfigError(FipsKeystoreError):
    """The stack configuration has one or more invalid keys."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [problem.render() for problem in problems]
        super().__init__(
            f"Stack configuration has {len(problems)} invalid key(s):\n"
            + "\n".join(lines)
        )


@dataclass(frozen=True)
class Problem:
    """One bad key: what it holds, what is allowed and the command that fixes it."""

    key: str
    shown_value: str
    allowed: str
    fix: str

    def render(self) -> str:
        return f"  {self.key} = {self.shown_value}: {self.allowed}. Fix: {self.fix}"


@dataclass(frozen=True)
class StackConfig:
    """Every setting of one fips-keystore stack, validated, with defaults filled."""

    stack: str
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    vpc_cidr: str = "10.42.0.0/16"
    hsm_type: str = "hsm2m.medium"
    mode: str = "FIPS"
    hsm_count: int = 2
    backup_retention_days: int = 90
    ca_key_bits: int = 2048
    ca_common_name: str = ""
    ca_organization: str = "fips-keystore"
    ca_validity_days: int = 3650
    ca_certificate: str | None = field(default=None, repr=False)
    ca_private_key: str | None = field(default=None, repr=False)
    aws_root_certificate_file: str | None = None
    manufacturer_root_certificate_file: str | None = None
    aws_root_certificate_pem: str | None = field(default=None, repr=False)
    manufacturer_root_certificate_pem: str | None = field(default=None, repr=False)
    require_hsm_identity: bool = False
    admin_password: str | None = field(default=None, repr=False)
    kmsuser_password: str | None = field(default=None, repr=False)
    instance_type: str = "t3.micro"
    ami_id: str | None = None
    create_key_store: bool = True
    key_store_name: str = ""
    key_alias: str = ""
    key_deletion_window_days: int = 30
    protect_keys: bool = True
    wait_timeout_minutes: int = 90
    connect_timeout_minutes: int = 45
    tags: Mapping[str, str] = field(default_factory=dict)
    cluster_id: str | None = None
    source_backup_id: str | None = None

    @property
    def creates_network(self) -> bool:
        return self.vpc_id is None

    @property
    def initializes_cluster(self) -> bool:
        """False when adopting or restoring: the cluster already has its identity."""
        return self.cluster_id is None and self.source_backup_id is None

    @property
    def private_subnet_count(self) -> int:
        return max(self.hsm_count, 2)

    @property
    def wait_timeout_seconds(self) -> int:
        return self.wait_timeout_minutes * 60

    @property
    def connect_timeout_seconds(self) -> int:
        return self.connect_timeout_minutes * 60


class _Rejected(ValueError):
    """A parser's verdict on one value: the sentence saying what is allowed."""


Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class _Key:
    name: str
    attribute: str
    parse: Parser
    example: str


def _integer(low: int, high: int) -> Parser:
    allowed = f"allowed is a whole number from {low} to {high}"

    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise _Rejected(allowed)
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if not isinstance(value, int) or not low <= value <= high:
            raise _Rejected(allowed)
        return value

    return parse


def _choice(*choices: Any) -> Parser:
    allowed = "allowed is one of " + ", ".join(str(c) for c in choices)

    def parse(value: Any) -> Any:
        for choice in choices:
            if value == choice or str(value) == str(choice):
                return choice
        raise _Rejected(allowed)

    return parse


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _Rejected("allowed is true or false")


def _text(pattern: str, description: str) -> Parser:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise _Rejected(f"allowed is {description}")
        return value

    return parse


_INSTANCE_TYPE = r"[a-z][a-z0-9-]*\.[a-z0-9]+"
# Graviton (Arm) families: a1, and a generation digit followed by "g" (t4g, c6gn).
_ARM_FAMILY = r"a1|[a-z]+\d+g[a-z]*"


def _x86_instance_type(value: Any) -> str:
    allowed = "allowed is an x86_64 EC2 instance type like t3.micro"
    if not isinstance(value, str) or not re.fullmatch(_INSTANCE_TYPE, value):
        raise _Rejected(allowed)
    if re.fullmatch(_ARM_FAMILY, value.split(".")[0]):
        raise _Rejected(
            f"{allowed}; {value} is Arm (Graviton), and the admin instance installs "
            "the x86_64 Amazon Linux 2023 package of cloudhsm-cli"
        )
    return value


def _string_list(item_pattern: str, description: str) -> Parser:
    allowed = f"allowed is a list of {description}"

    def parse(value: Any) -> tuple[str, ...]:
        items = _decoded(value, list, allowed)
        for item in items:
            if not isinstance(item, str) or not re.fullmatch(item_pattern, item):
                raise _Rejected(allowed)
        return tuple(items)

    return parse


# AWS takes 50 tags per resource; the stack adds one of its own to each (Name or
# fips-keystore:stack).
MAX_TAGS = 49


def _tags(value: Any) -> dict[str, str]:
    allowed = (
        f"allowed is a map of at most {MAX_TAGS} tag keys (1-128 characters, not "
        "starting with aws:) to string values (up to 256 characters)"
    )
    tags = _decoded(value, dict, allowed)
    if len(tags) > MAX_TAGS:
        raise _Rejected(
            f"{allowed}; AWS takes 50 tags per resource and the stack adds one"
        )
    for key, tag_value in tags.items():
        valid_key = isinstance(key, str) and 1 <= len(key) <= 128
        if not valid_key or key.lower().startswith("aws:"):
            raise _Rejected(allowed)
        if not isinstance(tag_value, str) or len(tag_value) > 256:
            raise _Rejected(allowed)
    return dict(tags)


def _decoded(value: Any, kind: type, allowed: str) -> Any:
    """Config from the engine arrives as JSON text; config from a mapping as is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise _Rejected(allowed) from error
    if not isinstance(value, kind):
        raise _Rejected(allowed)
    return value


def _cidr(value: Any) -> str:
    allowed = "allowed is an IPv4 CIDR block from /16 to /24, e.g. 10.42.0.0/16"
    try:
        network = ipaddress.ip_network(str(value), strict=True)
    except ValueError as error:
        raise _Rejected(allowed) from error
    if network.version != 4 or not 16 <= network.prefixlen <= 24:
        raise _Rejected(allowed)
    return str(network)


def _password(alphanumeric: bool) -> Parser:
    charset = "letters and digits" if alphanumeric else "printable characters"
    allowed = f"allowed is 7 to 32 {charset} without spaces"
    pattern = r"[A-Za-z0-9]{7,32}" if alphanumeric else r"[!-~]{7,32}"
    return _text(pattern, allowed.removeprefix("allowed is "))


def _pem(label: str) -> Parser:
    allowed = f"allowed is a PEM block starting with -----BEGIN {label}-----"

    def parse(value: Any) -> str:
        if not isinstance(value, str) or f"-----BEGIN {label}-----" not in value:
            raise _Rejected(allowed)
        return value

    return parse


def _private_key_pem(value: Any) -> str:
    allowed = "allowed is an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)"
    if not isinstance(value, str) or not re.search(
        r"-----BEGIN (RSA )?PRIVATE KEY-----", value
    ):
        raise _Rejected(allowed)
    return value


def _file_path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Rejected("allowed is a path to a PEM certificate file")
    return value


_AWS_ID = r"[0-9a-f]{8,17}"
_CLOUDHSM_ID = r"[2-7a-zA-Z]{11,16}"

KEYS: tuple[_Key, ...] = (
    _Key(
        "vpcId",
        "vpc_id",
        _text(rf"vpc-{_AWS_ID}", "a VPC id like vpc-0abc1234"),
        "vpc-0abc1234",
    ),
    _Key(
        "subnetIds",
        "subnet_ids",
        _string_list(rf"subnet-{_AWS_ID}", "subnet ids like subnet-0abc1234"),
        '\'["subnet-0abc1234","subnet-0def5678"]\'',
    ),
    _Key("vpcCidr", "vpc_cidr", _cidr, "10.42.0.0/16"),
    _Key("hsmType", "hsm_type", _choice("hsm2m.medium", "hsm1.medium"), "hsm2m.medium"),
    _Key("mode", "mode", _choice("FIPS", "NON_FIPS"), "FIPS"),
    _Key("hsmCount", "hsm_count", _integer(1, 6), "2"),
    _Key("backupRetentionDays", "backup_retention_days", _integer(7, 379), "90"),
    _Key("caKeyBits", "ca_key_bits", _choice(2048, 4096), "2048"),
    _Key(
        "caCommonName",
        "ca_common_name",
        _text(r"[^\x00-\x1f]{1,64}", "1 to 64 printable characters"),
        "'fips-keystore root CA'",
    ),
    _Key(
        "caOrganization",
        "ca_organization",
        _text(r"[^\x00-\x1f]{1,64}", "1 to 64 printable characters"),
        "'Example Corp'",
    ),
    _Key("caValidityDays", "ca_validity_days", _integer(365, 7300), "3650"),
    _Key("caCertificate", "ca_certificate", _pem("CERTIFICATE"), '-- "$(cat ca.pem)"'),
    _Key("caPrivateKey", "ca_private_key", _private_key_pem, '-- "$(cat ca-key.pem)"'),
    _Key(
        "awsRootCertificateFile",
        "aws_root_certificate_file",
        _file_path,
        "certs/aws-cloudhsm-root-g1.pem",
    ),
    _Key(
        "manufacturerRootCertificateFile",
        "manufacturer_root_certificate_file",
        _file_path,
        "certs/manufacturer-root.pem",
    ),
    _Key("requireHsmIdentity", "require_hsm_identity", _boolean, "true"),
    _Key("adminPassword", "admin_password", _password(False), "<password>"),
    _Key("kmsuserPassword", "kmsuser_password", _password(True), "<password>"),
    _Key("instanceType", "instance_type", _x86_instance_type, "t3.micro"),
    _Key(
        "amiId",
        "ami_id",
        _text(rf"ami-{_AWS_ID}", "an AMI id like ami-0abc1234"),
        "ami-0abc1234",
    ),
    _Key("createKeyStore", "create_key_store", _boolean, "true"),
    _Key(
        "keyStoreName",
        "key_store_name",
        _text(
            r"[A-Za-z0-9:/_.-]{1,256}", "1 to 256 letters, digits and :/_.- characters"
        ),
        "fips-keystore-dev",
    ),
    _Key(
        "keyAlias",
        "key_alias",
        _text(
            r"alias/(?!aws/)[A-Za-z0-9:/_-]{1,250}",
            "a name starting with alias/ (but not alias/aws/) followed by "
            "letters, digits and :/_-",
        ),
        "alias/fips-keystore-dev",
    ),
    _Key("keyDeletionWindowDays", "key_deletion_window_days", _integer(7, 30), "30"),
    _Key("protectKeys", "protect_keys", _boolean, "true"),
    _Key("waitTimeoutMinutes", "wait_timeout_minutes", _integer(10, 240), "90"),
    _Key("connectTimeoutMinutes", "connect_timeout_minutes", _integer(10, 240), "45"),
    _Key("tags", "tags", _tags, "--path tags.team platform"),
    _Key(
        "clusterId",
        "cluster_id",
        _text(
            rf"cluster-{_CLOUDHSM_ID}", "a CloudHSM cluster id like cluster-abcdefghijk"
        ),
        "cluster-abcdefghijk",
    ),
    _Key(
        "sourceBackupId",
        "source_backup_id",
        _text(
            rf"backup-{_CLOUDHSM_ID}", "a CloudHSM backup id like backup-abcdefghijk"
        ),
        "backup-abcdefghijk",
    ),
)
_KEYS_BY_NAME = {key.name: key for key in KEYS}


def load_stack_config(
    config: pulumi.Config | Mapping[str, Any],
    *,
    stack: str | None = None,
    base_dir: Path | None = None,
) -> StackConfig:
    """Validate the stack's config and return it with every default filled.

    `config` is the project's `pulumi.Config` or a mapping of key to value
    (with or without the `fips-keystore:` prefix). Root certificate paths are
    relative to `base_dir` (the project directory by default).
    """
    raw, problems = _raw_values(config)

    values: dict[str, Any] = {}
    for name, value in raw.items():
        key = _KEYS_BY_NAME[name]
        try:
            values[key.attribute] = key.parse(value)
        except _Rejected as rejection:
            problems.append(_problem(name, value, str(rejection)))

    stack_name = stack if stack is not None else pulumi.get_stack()
    values = _with_defaults(values, stack_name)
    problems += _cross_key_problems(values)
    values, file_problems = _with_root_certificates(values, base_dir or Path.cwd())
    problems += file_problems
    if problems:
        raise ConfigError(problems)
    return StackConfig(**values)


def _raw_values(
    config: pulumi.Config | Mapping[str, Any],
) -> tuple[dict[str, Any], list[Problem]]:
    if isinstance(config, pulumi.Config):
        entries, problems = _engine_entries(config)
    else:
        entries, problems = dict(config), []

    raw: dict[str, Any] = {}
    for full_name, value in entries.items():
        namespace, _, name = full_name.rpartition(":")
        if namespace not in ("", NAMESPACE):
            continue
        if name not in _KEYS_BY_NAME:
            problems.append(_unknown_key_problem(name, value))
        elif value is not None:
            raw[name] = value
    return raw, problems


def _engine_entries(config: pulumi.Config) -> tuple[dict[str, Any], list[Problem]]:
    """Every key of the namespace, and a problem for each secret kept in plain text."""
    prefix = f"{config.name}:"
    names = {
        full[len(prefix) :]
        for full in (*runtime_config.CONFIG.get(), *runtime_config.get_config_env())
        if full.startswith(prefix)
    }
    entries = {name: config.get(name) for name in names | _KEYS_BY_NAME.keys()}

    problems = []
    for name in SECRET_KEYS:
        full = config.full_key(name)
        if entries.get(name) is not None and not runtime_config.is_config_secret(full):
            problems.append(
                Problem(
                    name,
                    "<stored in plain text>",
                    "a secret must be stored encrypted",
                    f"pulumi config rm {name} && "
                    f"pulumi config set --secret {name} <value>",
                )
            )
    return entries, problems


def _unknown_key_problem(name: str, value: Any) -> Problem:
    return Problem(
        name,
        _shown(name, value),
        "unknown key; allowed keys are " + ", ".join(sorted(_KEYS_BY_NAME)),
        f"pulumi config rm {name}",
    )


def _problem(
    name: str, value: Any, allowed: str, example: str | None = None
) -> Problem:
    secret = "--secret " if name in SECRET_KEYS else ""
    example = example or _KEYS_BY_NAME[name].example
    # A --path example names its own key path (tags.team), not the key itself.
    target = example if example.startswith("--path") else f"{name} {example}"
    return Problem(
        name,
        _shown(name, value),
        allowed,
        f"pulumi config set {secret}{target}",
    )


def _shown(name: str, value: Any) -> str:
    """How a value appears in an error: secrets by length only, long text cut."""
    if name in SECRET_KEYS:
        length = len(value) if isinstance(value, str) else 0
        return f"<secret of {length} characters>"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) > 60:
        text = text[:40] + f"... ({len(text)} characters)"
    return repr(text) if isinstance(value, str) else text


def _with_defaults(values: dict[str, Any], stack: str) -> dict[str, Any]:
    defaults = {
        "stack": stack,
        "ca_common_name": f"fips-keystore-{stack} root CA",
        "key_store_name": f"fips-keystore-{stack}",
        "key_alias": f"alias/fips-keystore-{stack}",
    }
    return {**defaults, **values}


def _cross_key_problems(values: dict[str, Any]) -> list[Problem]:
    checks = (
        _network_problems,
        _hsm_count_problems,
        _customer_ca_problems,
        _cluster_source_problems,
        _identity_problems,
    )
    return [problem for check in checks for problem in check(values)]


def _network_problems(values: dict[str, Any]) -> list[Problem]:
    vpc_id, subnet_ids = values.get("vpc_id"), values.get("subnet_ids", ())
    problems = []
    if vpc_id and not subnet_ids:
        problems.append(
            Problem(
                "subnetIds",
                "<unset>",
                f"required with vpcId {vpc_id}: at least 2 subnets of that VPC "
                "in distinct availability zones",
                "pulumi config set --path 'subnetIds[0]' subnet-... "
                "(and subnetIds[1], ...)",
            )
        )
    if subnet_ids and not vpc_id:
        problems.append(
            Problem(
                "vpcId",
                "<unset>",
                "required with subnetIds: the VPC that holds those subnets",
                "pulumi config set vpcId vpc-...",
            )
        )
    if subnet_ids and len(subnet_ids) < 2:
        problems.append(
            _problem(
                "subnetIds",
                list(subnet_ids),
                "allowed is at least 2 subnets in distinct availability zones",
            )
        )
    if len(set(subnet_ids)) != len(subnet_ids):
        problems.append(
            _problem(
                "subnetIds",
                list(subnet_ids),
                "allowed is a list of distinct subnet ids; remove duplicates",
            )
        )
    return problems


def _hsm_count_problems(values: dict[str, Any]) -> list[Problem]:
    hsm_count = values.get("hsm_count", 2)
    subnet_ids = values.get("subnet_ids", ())
    problems = []
    if values.get("create_key_store", True) and hsm_count < 2:
        problems.append(
            _problem(
                "hsmCount",
                hsm_count,
                "allowed is 2 to 6 when createKeyStore is true: a KMS key "
                "store needs two HSMs in different availability zones",
            )
        )
    if subnet_ids and hsm_count > len(subnet_ids):
        problems.append(
            _problem(
                "hsmCount",
                hsm_count,
                f"allowed is at most {len(subnet_ids)}, one HSM per "
                "availability zone of subnetIds",
                str(len(subnet_ids)),
            )
        )
    return problems


def _customer_ca_problems(values: dict[str, Any]) -> list[Problem]:
    """caCertificate/caPrivateKey rules that hold whatever the cluster's state.

    With clusterId the cluster's state decides (checked before `up` by
    components.cluster_adoption): an ACTIVE cluster needs caCertificate, an
    UNINITIALIZED one a CA that can sign (both keys, or neither).
    """
    has_certificate = values.get("ca_certificate") is not None
    has_key = values.get("ca_private_key") is not None
    if values.get("source_backup_id") and not has_certificate:
        return [
            Problem(
                "caCertificate",
                "<unset>",
                "required with sourceBackupId: the trust anchor that initialized "
                "the backed-up cluster (the private key is optional)",
                'pulumi config set caCertificate -- "$(cat ca.pem)"',
            )
        ]
    # A restored cluster keeps the trust anchor it was initialized with, expired
    # or not; any other stack may sign a CSR with the CA, so it must qualify.
    if has_certificate and has_key and not values.get("source_backup_id"):
        return _supplied_ca_problems(values["ca_certificate"], values["ca_private_key"])
    if values.get("source_backup_id") or has_certificate == has_key:
        return []
    if values.get("cluster_id") and has_certificate:
        return []
    missing = "caPrivateKey" if has_certificate else "caCertificate"
    secret = "--secret " if missing in SECRET_KEYS else ""
    example = _KEYS_BY_NAME[missing].example
    return [
        Problem(
            missing,
            "<unset>",
            "caCertificate and caPrivateKey are given both or neither "
            "(neither: the stack generates its own CA)",
            f"pulumi config set {secret}{missing} {example}",
        )
    ]


def _supplied_ca_problems(certificate_pem: str, private_key_pem: str) -> list[Problem]:
    """The CloudHSM trust anchor rules, checked before anything is created."""
    try:
        load_supplied_ca(certificate_pem, private_key_pem)
    except CertificateError as error:
        return [
            Problem(
                "caCertificate",
                _shown("caCertificate", certificate_pem),
                str(error).rstrip("."),
                'pulumi config set caCertificate -- "$(cat ca.pem)" and '
                'pulumi config set --secret caPrivateKey -- "$(cat ca-key.pem)", '
                "or remove both to let the stack generate its CA",
            )
        ]
    return []


def _cluster_source_problems(values: dict[str, Any]) -> list[Problem]:
    cluster_id, backup_id = values.get("cluster_id"), values.get("source_backup_id")
    problems = []
    if cluster_id and backup_id:
        problems.append(
            Problem(
                "sourceBackupId",
                repr(backup_id),
                f"not allowed together with clusterId {cluster_id}: adopt an "
                "existing cluster or restore a backup, not both",
                "pulumi config rm sourceBackupId (or pulumi config rm clusterId)",
            )
        )
    if (cluster_id or backup_id) and values.get("admin_password") is None:
        problems.append(
            Problem(
                "adminPassword",
                "<unset>",
                "required with clusterId or sourceBackupId: the admin password "
                "the cluster already has",
                "pulumi config set --secret adminPassword <password>",
            )
        )
    if cluster_id and not values.get("vpc_id"):
        problems.append(
            Problem(
                "vpcId",
                "<unset>",
                f"required with clusterId {cluster_id}: the VPC and subnets of "
                "that cluster, so the admin instance can reach it",
                "pulumi config set vpcId vpc-... and "
                "pulumi config set --path 'subnetIds[0]' subnet-...",
            )
        )
    if values.get("hsm_type") == "hsm1.medium" and not cluster_id:
        problems.append(
            _problem(
                "hsmType",
                "hsm1.medium",
                "hsm1.medium can no longer be used for new clusters (AWS "
                "retired it); allowed is hsm2m.medium, or hsm1.medium only "
                "with clusterId to adopt an existing hsm1 cluster",
            )
        )
    return problems


def _identity_problems(values: dict[str, Any]) -> list[Problem]:
    if not values.get("require_hsm_identity"):
        return []
    return [
        Problem(
            name,
            "<unset>",
            f"required when requireHsmIdentity is true: {HSM_IDENTITY_HELP}",
            f"pulumi config set {name} {_KEYS_BY_NAME[name].example}",
        )
        for name, attribute in _ROOT_CERTIFICATE_KEYS
        if not values.get(attribute)
    ]


_ROOT_CERTIFICATE_KEYS = (
    ("awsRootCertificateFile", "aws_root_certificate_file"),
    ("manufacturerRootCertificateFile", "manufacturer_root_certificate_file"),
)


def _with_root_certificates(
    values: dict[str, Any], base_dir: Path
) -> tuple[dict[str, Any], list[Problem]]:
    """Read the root certificate files now so a missing file fails before `up`."""
    problems = []
    for name, attribute in _ROOT_CERTIFICATE_KEYS:
        path_text = values.get(attribute)
        if not path_text:
            continue
        path = (
            Path(path_text) if Path(path_text).is_absolute() else base_dir / path_text
        )
        pem_attribute = attribute.replace("_file", "_pem")
        try:
            pem = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(_file_problem(name, path_text, path, str(error)))
            continue
        if "-----BEGIN CERTIFICATE-----" not in pem:
            problems.append(_file_problem(name, path_text, path, "no PEM certificate"))
            continue
        values = {**values, pem_attribute: pem}
    return values, problems


def _file_problem(name: str, path_text: str, path: Path, reason: str) -> Problem:
    return Problem(
        name,
        repr(path_text),
        f"allowed is a readable PEM certificate file; {path} gave: {reason}; "
        f"{HSM_IDENTITY_HELP} and save it at that path",
        f"pulumi config set {name} {_KEYS_BY_NAME[name].example}",
    )
