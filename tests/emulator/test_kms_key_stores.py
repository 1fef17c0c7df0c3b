"""KMS custom key stores in the emulator: creation rules, connection states and
error codes on the simulated clock, keys in a store, and deletion rules."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from rehearsal.emulator import Emulator
from rehearsal.emulator.hsm import HsmSimulator
from rehearsal.emulator.hsm_cli import CliInvocation

from ._cloudhsm_setup import (
    ClusterSetup,
    add_hsm,
    create_cluster,
    initialize_cluster,
    make_network,
    make_test_ca,
)

ADMIN_PASSWORD = "AdminPassw0rd"
KMSUSER_PASSWORD = "KmsUserPassw0rd"
DAY = 86400


def ready_cluster(emulator: Emulator, hsm_zones: int = 2) -> ClusterSetup:
    """An ACTIVE cluster with kmsuser and one ACTIVE HSM per zone."""
    setup = create_cluster(emulator)
    initialize_cluster(setup)
    simulator = hsm(setup)
    simulator.activate(ADMIN_PASSWORD)
    simulator.create_user("kmsuser", "crypto-user", KMSUSER_PASSWORD)
    for zone in ("us-east-1b", "us-east-1c")[: hsm_zones - 1]:
        add_hsm(setup, zone)
    return setup


def hsm(setup: ClusterSetup) -> HsmSimulator:
    simulator: HsmSimulator = setup.emulator.models.cloudhsm.hsm_simulator(
        setup.cluster_id
    )
    return simulator


def create_store(setup: ClusterSetup, name: str = "fips-keystore", **extra: Any) -> str:
    """Create a key store; botocore's own checks are off so the emulator's run."""
    params = {
        "CustomKeyStoreName": name,
        "CloudHsmClusterId": setup.cluster_id,
        "TrustAnchorCertificate": setup.ca.pem,
        "KeyStorePassword": KMSUSER_PASSWORD,
        **extra,
    }
    kms = boto3.client("kms", config=Config(parameter_validation=False))
    return str(kms.create_custom_key_store(**params)["CustomKeyStoreId"])


def describe(store_id: str) -> dict[str, Any]:
    stores = boto3.client("kms").describe_custom_key_stores(CustomKeyStoreId=store_id)
    return dict(stores["CustomKeyStores"][0])


def connect(setup: ClusterSetup, store_id: str) -> dict[str, Any]:
    """Connect and let the connect duration pass; the store as read then."""
    boto3.client("kms").connect_custom_key_store(CustomKeyStoreId=store_id)
    setup.wait(setup.emulator.profile.key_store_connect)
    return describe(store_id)


def disconnect(setup: ClusterSetup, store_id: str) -> None:
    boto3.client("kms").disconnect_custom_key_store(CustomKeyStoreId=store_id)
    setup.wait(setup.emulator.profile.key_store_disconnect)


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def post_control(
    emulator: Emulator, path: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """POST a JSON body to a control route; the status and the decoded answer."""
    request = urllib.request.Request(
        f"{emulator.url}{path}", data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def create_store_key(store_id: str) -> str:
    metadata = boto3.client("kms").create_key(
        CustomKeyStoreId=store_id, Origin="AWS_CLOUDHSM", Description="app data"
    )["KeyMetadata"]
    return str(metadata["KeyId"])


@pytest.fixture
def cluster(emulator: Emulator) -> ClusterSetup:
    return ready_cluster(emulator)


@pytest.fixture
def connected_store(cluster: ClusterSetup) -> str:
    store_id = create_store(cluster)
    assert connect(cluster, store_id)["ConnectionState"] == "CONNECTED"
    return store_id


def test_create_custom_key_store_starts_disconnected(cluster: ClusterSetup) -> None:
    store_id = create_store(cluster)

    store = describe(store_id)

    assert re.fullmatch(r"cks-[0-9a-f]{17}", store_id)
    assert store["ConnectionState"] == "DISCONNECTED"
    assert store["CustomKeyStoreType"] == "AWS_CLOUDHSM"
    assert store["CloudHsmClusterId"] == cluster.cluster_id
    assert store["TrustAnchorCertificate"] == cluster.ca.pem
    assert "ConnectionErrorCode" not in store


def test_create_custom_key_store_unknown_cluster_is_refused(
    cluster: ClusterSetup,
) -> None:
    cluster.cluster_id = "cluster-doesnotexist"

    with pytest.raises(ClientError) as raised:
        create_store(cluster)

    code, message = error_of(raised)
    assert code == "CloudHsmClusterNotFoundException"
    assert "cluster-doesnotexist" in message


def test_create_custom_key_store_inactive_cluster_is_refused(
    emulator: Emulator,
) -> None:
    setup = create_cluster(emulator)
    initialize_cluster(setup)

    with pytest.raises(ClientError) as raised:
        create_store(setup)

    code, message = error_of(raised)
    assert code == "CloudHsmClusterNotActiveException"
    assert f"{setup.cluster_id} is INITIALIZED, not ACTIVE" in message


def test_create_custom_key_store_cluster_in_use_is_refused(
    cluster: ClusterSetup,
) -> None:
    first = create_store(cluster, "first")

    with pytest.raises(ClientError) as raised:
        create_store(cluster, "second")

    code, message = error_of(raised)
    assert code == "CloudHsmClusterInUseException"
    assert first in message


def test_create_custom_key_store_one_zone_is_refused(emulator: Emulator) -> None:
    setup = ready_cluster(emulator, hsm_zones=1)

    with pytest.raises(ClientError) as raised:
        create_store(setup)

    code, message = error_of(raised)
    assert code == "CloudHsmClusterInvalidConfigurationException"
    assert "ACTIVE HSMs in 1 Availability Zone(s)" in message


def test_create_custom_key_store_two_hsms_in_one_zone_is_refused(
    emulator: Emulator,
) -> None:
    setup = ready_cluster(emulator, hsm_zones=1)
    add_hsm(setup, "us-east-1a")
    zones = {h["AvailabilityZone"] for h in describe_hsms(setup)}

    with pytest.raises(ClientError) as raised:
        create_store(setup)

    code, message = error_of(raised)
    assert (len(setup.hsm_ids), zones) == (2, {"us-east-1a"})
    assert code == "CloudHsmClusterInvalidConfigurationException"
    assert "ACTIVE HSMs in 1 Availability Zone(s)" in message
    assert "2 ACTIVE HSMs in different Availability Zones" in message


def describe_hsms(setup: ClusterSetup) -> list[dict[str, Any]]:
    clusters = boto3.client("cloudhsmv2").describe_clusters(
        Filters={"clusterIds": [setup.cluster_id]}
    )["Clusters"]
    hsms: list[dict[str, Any]] = clusters[0]["Hsms"]
    assert all(h["State"] == "ACTIVE" for h in hsms)
    return hsms


def test_create_custom_key_store_lost_security_group_rules_is_refused(
    cluster: ClusterSetup,
) -> None:
    ec2 = boto3.client("ec2")
    group_id = cluster.emulator.models.cloudhsm.cluster(
        cluster.cluster_id
    ).security_group_id
    rules = ec2.describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [group_id]}]
    )["SecurityGroupRules"]
    ingress = [r["SecurityGroupRuleId"] for r in rules if not r["IsEgress"]]
    ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=ingress)

    with pytest.raises(ClientError) as raised:
        create_store(cluster)

    code, message = error_of(raised)
    assert code == "CloudHsmClusterInvalidConfigurationException"
    assert group_id in message


def test_create_custom_key_store_other_trust_anchor_is_refused(
    cluster: ClusterSetup,
) -> None:
    cluster.ca = make_test_ca("another CA")

    with pytest.raises(ClientError) as raised:
        create_store(cluster)

    code, message = error_of(raised)
    assert code == "IncorrectTrustAnchorException"
    assert cluster.cluster_id in message


def test_create_custom_key_store_name_in_use_is_refused(
    cluster: ClusterSetup,
) -> None:
    create_store(cluster, "taken")

    with pytest.raises(ClientError) as raised:
        create_store(cluster, "taken")

    code, message = error_of(raised)
    assert code == "CustomKeyStoreNameInUseException"
    assert "'taken'" in message


@pytest.mark.parametrize("password", ["short", "x" * 33])
def test_create_custom_key_store_bad_password_length_is_refused(
    cluster: ClusterSetup, password: str
) -> None:
    with pytest.raises(ClientError) as raised:
        create_store(cluster, KeyStorePassword=password)

    code, message = error_of(raised)
    assert code == "ValidationException"
    assert "length between 7 and 32" in message
    assert password not in message


def test_create_custom_key_store_eleventh_is_refused(emulator: Emulator) -> None:
    _vpc_id, subnet_ids = make_network()
    kms = boto3.client("kms")
    ca = make_test_ca()
    clusters = [ten_cluster(emulator, subnet_ids, ca) for _ in range(10)]
    for number, cluster_id in enumerate(clusters):
        kms.create_custom_key_store(
            CustomKeyStoreName=f"store-{number}",
            CloudHsmClusterId=cluster_id,
            TrustAnchorCertificate=ca.pem,
            KeyStorePassword=KMSUSER_PASSWORD,
        )

    with pytest.raises(ClientError) as raised:
        kms.create_custom_key_store(
            CustomKeyStoreName="store-10",
            CloudHsmClusterId=clusters[0],
            TrustAnchorCertificate=ca.pem,
            KeyStorePassword=KMSUSER_PASSWORD,
        )

    code, message = error_of(raised)
    assert code == "LimitExceededException"
    assert "10 custom key stores" in message


def ten_cluster(emulator: Emulator, subnet_ids: list[str], ca: Any) -> str:
    """One more ACTIVE two-zone cluster in the shared network."""
    setup = ClusterSetup(emulator, ca, subnet_ids)
    api = boto3.client("cloudhsmv2")
    setup.cluster_id = api.create_cluster(
        HsmType="hsm2m.medium", SubnetIds=subnet_ids, Mode="FIPS"
    )["Cluster"]["ClusterId"]
    setup.wait(emulator.profile.cluster_create)
    add_hsm(setup, "us-east-1a")
    initialize_cluster(setup)
    hsm(setup).activate(ADMIN_PASSWORD)
    add_hsm(setup, "us-east-1b")
    return setup.cluster_id


def test_describe_custom_key_stores_pages_with_marker(emulator: Emulator) -> None:
    first = ready_cluster(emulator)
    second_cluster = ten_cluster(emulator, first.subnet_ids, first.ca)
    first_store = create_store(first, "first")
    first.cluster_id = second_cluster
    second_store = create_store(first, "second")
    kms = boto3.client("kms")

    page_one = kms.describe_custom_key_stores(Limit=1)
    page_two = kms.describe_custom_key_stores(Limit=1, Marker=page_one["NextMarker"])
    by_name = kms.describe_custom_key_stores(CustomKeyStoreName="second")
    with pytest.raises(ClientError) as raised:
        kms.describe_custom_key_stores(Marker="bogus")

    assert [s["CustomKeyStoreId"] for s in page_one["CustomKeyStores"]] == [first_store]
    assert [s["CustomKeyStoreId"] for s in page_two["CustomKeyStores"]] == [
        second_store
    ]
    assert (page_one["Truncated"], page_two["Truncated"]) == (True, False)
    assert by_name["CustomKeyStores"][0]["CustomKeyStoreId"] == second_store
    assert error_of(raised)[0] == "InvalidMarkerException"


def test_describe_custom_key_stores_unknown_id_is_refused(emulator: Emulator) -> None:
    with pytest.raises(ClientError) as raised:
        describe("cks-0123456789abcdef0")

    code, message = error_of(raised)
    assert code == "CustomKeyStoreNotFoundException"
    assert "cks-0123456789abcdef0" in message


def test_connect_custom_key_store_connects_after_connect_duration(
    cluster: ClusterSetup,
) -> None:
    store_id = create_store(cluster)
    boto3.client("kms").connect_custom_key_store(CustomKeyStoreId=store_id)

    during = describe(store_id)["ConnectionState"]
    cluster.wait(cluster.emulator.profile.key_store_connect)
    after = describe(store_id)["ConnectionState"]

    assert (during, after) == ("CONNECTING", "CONNECTED")


def test_connect_custom_key_store_rotates_kmsuser_password(
    cluster: ClusterSetup, connected_store: str
) -> None:
    simulator = hsm(cluster)

    assert not simulator.verify_password("kmsuser", KMSUSER_PASSWORD)
    assert "kmsuser" in {user["username"] for user in simulator.list_users()}


def test_connect_custom_key_store_without_kmsuser_fails(cluster: ClusterSetup) -> None:
    hsm(cluster).delete_user("kmsuser", "crypto-user")
    store_id = create_store(cluster)

    store = connect(cluster, store_id)

    assert (store["ConnectionState"], store["ConnectionErrorCode"]) == (
        "FAILED",
        "USER_NOT_FOUND",
    )


def test_connect_custom_key_store_partial_kmsuser_coverage_fails(
    emulator: Emulator, tmp_path: Any
) -> None:
    setup = create_cluster(emulator)
    initialize_cluster(setup)
    hsm(setup).activate(ADMIN_PASSWORD)
    add_hsm(setup, "us-east-1b")
    create_kmsuser_on_first_hsm(setup, tmp_path)
    store_id = create_store(setup)

    store = connect(setup, store_id)

    assert store["ConnectionErrorCode"] == "USER_NOT_FOUND"


def create_kmsuser_on_first_hsm(setup: ClusterSetup, sandbox: Any) -> None:
    """cloudhsm-cli configured with one HSM creates kmsuser there only."""
    etc = sandbox / "opt/cloudhsm/etc"
    etc.mkdir(parents=True)
    (etc / "customerCA.crt").write_text(setup.ca.pem)
    client = setup.emulator.models.hsm_client
    client.run(
        sandbox, CliInvocation("configure-cli", ["-a", setup.hsm_ips()[0]], "", None)
    )
    outcome = client.run(
        sandbox,
        CliInvocation(
            "cloudhsm-cli",
            ["user", "create", "--username", "kmsuser", "--role", "crypto-user"],
            f"{KMSUSER_PASSWORD}\n{KMSUSER_PASSWORD}\n",
            "admin",
            f"admin:{ADMIN_PASSWORD}",
        ),
    )
    assert outcome.exit_code == 0, outcome.stdout


def test_connect_custom_key_store_wrong_password_fails(cluster: ClusterSetup) -> None:
    store_id = create_store(cluster, KeyStorePassword="WrongPassw0rd")

    store = connect(cluster, store_id)

    assert store["ConnectionErrorCode"] == "INVALID_CREDENTIALS"
    assert hsm(cluster).verify_password("kmsuser", KMSUSER_PASSWORD)


def test_connect_custom_key_store_wrong_passwords_lock_kmsuser_out(
    cluster: ClusterSetup,
) -> None:
    store_id = create_store(cluster, KeyStorePassword="WrongPassw0rd")
    codes = []
    for _attempt in range(6):
        codes.append(connect(cluster, store_id)["ConnectionErrorCode"])
        disconnect(cluster, store_id)

    assert codes == ["INVALID_CREDENTIALS"] * 5 + ["USER_LOCKED_OUT"]


LOGGED_IN_ELSEWHERE = "/_emulator/hsm/logged-in-elsewhere"


def test_connect_custom_key_store_kmsuser_logged_in_fails(
    cluster: ClusterSetup,
) -> None:
    status, answer = post_control(
        cluster.emulator,
        LOGGED_IN_ELSEWHERE,
        {"cluster_id": cluster.cluster_id, "username": "kmsuser", "logged_in": True},
    )
    store_id = create_store(cluster)

    assert (status, answer["logged_in"]) == (200, True)
    assert connect(cluster, store_id)["ConnectionErrorCode"] == "USER_LOGGED_IN"


def test_connect_custom_key_store_after_session_closed_connects(
    cluster: ClusterSetup,
) -> None:
    session = {"cluster_id": cluster.cluster_id, "username": "kmsuser"}
    post_control(cluster.emulator, LOGGED_IN_ELSEWHERE, session)
    store_id = create_store(cluster)
    connect(cluster, store_id)
    disconnect(cluster, store_id)

    status, _ = post_control(
        cluster.emulator, LOGGED_IN_ELSEWHERE, {**session, "logged_in": False}
    )

    assert status == 200
    assert connect(cluster, store_id)["ConnectionState"] == "CONNECTED"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"cluster_id": "cluster-aaaaaaaaaaa", "username": "kmsuser"},
            "no cluster cluster-aaaaaaaaaaa in the emulator; pass a ClusterId that "
            "CreateCluster returned",
        ),
        (
            {"username": "kmsuser"},
            f"{LOGGED_IN_ELSEWHERE} needs cluster_id and username strings, got "
            "None and 'kmsuser'",
        ),
        (
            {"cluster_id": "", "username": "kmsuser", "logged_in": "yes"},
            "logged_in must be true or false, got 'yes'",
        ),
    ],
)
def test_logged_in_elsewhere_route_bad_body_answers_400(
    cluster: ClusterSetup, body: dict[str, Any], error: str
) -> None:
    status, answer = post_control(cluster.emulator, LOGGED_IN_ELSEWHERE, body)

    assert (status, answer) == (400, {"error": error})


def test_logged_in_elsewhere_route_unknown_user_answers_400(
    cluster: ClusterSetup,
) -> None:
    body = {"cluster_id": cluster.cluster_id, "username": "nobody"}

    status, answer = post_control(cluster.emulator, LOGGED_IN_ELSEWHERE, body)

    assert status == 400
    assert answer["error"].startswith("User nobody does not exist on any active HSM")


def test_connect_custom_key_store_without_active_hsms_fails(
    cluster: ClusterSetup,
) -> None:
    store_id = create_store(cluster)
    api = boto3.client("cloudhsmv2")
    for hsm_id in cluster.hsm_ids:
        api.delete_hsm(ClusterId=cluster.cluster_id, HsmId=hsm_id)
    cluster.wait(cluster.emulator.profile.hsm_delete)

    store = connect(cluster, store_id)

    assert store["ConnectionErrorCode"] == "INSUFFICIENT_CLOUDHSM_HSMS"


def test_connect_custom_key_store_deleted_subnet_fails(emulator: Emulator) -> None:
    setup = ready_cluster(emulator)
    cluster = emulator.models.cloudhsm.cluster(setup.cluster_id)
    store_id = create_store(setup)
    hsm_subnets = {h.subnet_id for h in cluster.hsms}
    ec2 = boto3.client("ec2")
    spare = ec2.create_subnet(
        VpcId=cluster.vpc_id, CidrBlock="10.20.3.0/24", AvailabilityZone="us-east-1c"
    )["Subnet"]["SubnetId"]
    cluster.subnet_mapping["us-east-1c"] = spare
    ec2.delete_subnet(SubnetId=spare)

    store = connect(setup, store_id)

    assert spare not in hsm_subnets
    assert store["ConnectionErrorCode"] == "SUBNET_NOT_FOUND"


def test_connect_custom_key_store_forced_error_fails(cluster: ClusterSetup) -> None:
    store_id = create_store(cluster)
    cluster.emulator.faults.connect_error = "NETWORK_ERRORS"

    store = connect(cluster, store_id)

    assert store["ConnectionErrorCode"] == "NETWORK_ERRORS"
    assert hsm(cluster).verify_password("kmsuser", KMSUSER_PASSWORD)


def test_connect_custom_key_store_stuck_fault_freezes_connecting(
    cluster: ClusterSetup,
) -> None:
    store_id = create_store(cluster)
    cluster.emulator.faults.stuck["key_store"] = "CONNECTING"

    stuck = connect(cluster, store_id)["ConnectionState"]
    cluster.emulator.faults.stuck.clear()

    assert (stuck, describe(store_id)["ConnectionState"]) == ("CONNECTING", "CONNECTED")


def test_connect_custom_key_store_failed_store_is_refused(
    cluster: ClusterSetup,
) -> None:
    store_id = create_store(cluster, KeyStorePassword="WrongPassw0rd")
    connect(cluster, store_id)

    with pytest.raises(ClientError) as raised:
        boto3.client("kms").connect_custom_key_store(CustomKeyStoreId=store_id)

    code, message = error_of(raised)
    assert code == "CustomKeyStoreInvalidStateException"
    assert f"{store_id} is FAILED" in message
    assert "DisconnectCustomKeyStore" in message


def test_disconnect_custom_key_store_disconnects_after_duration(
    cluster: ClusterSetup, connected_store: str
) -> None:
    boto3.client("kms").disconnect_custom_key_store(CustomKeyStoreId=connected_store)

    during = describe(connected_store)["ConnectionState"]
    cluster.wait(cluster.emulator.profile.key_store_disconnect)

    assert (during, describe(connected_store)["ConnectionState"]) == (
        "DISCONNECTING",
        "DISCONNECTED",
    )


def test_disconnect_custom_key_store_disconnected_is_refused(
    cluster: ClusterSetup,
) -> None:
    store_id = create_store(cluster)

    with pytest.raises(ClientError) as raised:
        boto3.client("kms").disconnect_custom_key_store(CustomKeyStoreId=store_id)

    code, message = error_of(raised)
    assert code == "CustomKeyStoreInvalidStateException"
    assert "is DISCONNECTED" in message


def test_update_custom_key_store_password_while_connected_is_refused(
    cluster: ClusterSetup, connected_store: str
) -> None:
    with pytest.raises(ClientError) as raised:
        boto3.client("kms").update_custom_key_store(
            CustomKeyStoreId=connected_store, KeyStorePassword="AnotherPassw0rd"
        )

    code, message = error_of(raised)
    assert code == "CustomKeyStoreInvalidStateException"
    assert "KeyStorePassword" in message


def test_update_custom_key_store_password_lets_store_connect(
    cluster: ClusterSetup,
) -> None:
    store_id = create_store(cluster, KeyStorePassword="WrongPassw0rd")
    connect(cluster, store_id)
    disconnect(cluster, store_id)

    boto3.client("kms").update_custom_key_store(
        CustomKeyStoreId=store_id, KeyStorePassword=KMSUSER_PASSWORD
    )

    assert connect(cluster, store_id)["ConnectionState"] == "CONNECTED"


def test_create_key_in_connected_store_reports_cloudhsm_origin(
    cluster: ClusterSetup, connected_store: str
) -> None:
    kms = boto3.client("kms")
    key_id = create_store_key(connected_store)
    kms.create_alias(AliasName="alias/fips-keystore", TargetKeyId=key_id)

    metadata = kms.describe_key(KeyId="alias/fips-keystore")["KeyMetadata"]
    ciphertext = kms.encrypt(KeyId="alias/fips-keystore", Plaintext=b"secret data")
    plaintext = kms.decrypt(CiphertextBlob=ciphertext["CiphertextBlob"])

    assert metadata["KeyId"] == key_id
    assert metadata["Origin"] == "AWS_CLOUDHSM"
    assert metadata["CustomKeyStoreId"] == connected_store
    assert metadata["CloudHsmClusterId"] == cluster.cluster_id
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert plaintext["Plaintext"] == b"secret data"


def test_create_key_in_disconnected_store_is_refused(cluster: ClusterSetup) -> None:
    store_id = create_store(cluster)

    with pytest.raises(ClientError) as raised:
        create_store_key(store_id)

    code, message = error_of(raised)
    assert code == "CustomKeyStoreInvalidStateException"
    assert "ConnectCustomKeyStore" in message


@pytest.mark.parametrize(
    "extra",
    [
        {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},
        {"MultiRegion": True},
        {"Origin": "EXTERNAL"},
    ],
)
def test_create_key_unsupported_kind_in_store_is_refused(
    connected_store: str, extra: dict[str, Any]
) -> None:
    params = {"CustomKeyStoreId": connected_store, "Origin": "AWS_CLOUDHSM", **extra}

    with pytest.raises(ClientError) as raised:
        boto3.client("kms").create_key(**params)

    code, message = error_of(raised)
    assert code == "UnsupportedOperationException"
    assert "custom key store" in message or "CloudHSM key store" in message


def test_enable_key_rotation_store_key_is_refused(connected_store: str) -> None:
    key_id = create_store_key(connected_store)

    with pytest.raises(ClientError) as raised:
        boto3.client("kms").enable_key_rotation(KeyId=key_id)

    code, message = error_of(raised)
    assert code == "UnsupportedOperationException"
    assert key_id in message


def test_encrypt_with_key_of_disconnected_store_is_refused(
    cluster: ClusterSetup, connected_store: str
) -> None:
    key_id = create_store_key(connected_store)
    disconnect(cluster, connected_store)

    with pytest.raises(ClientError) as raised:
        boto3.client("kms").encrypt(KeyId=key_id, Plaintext=b"data")
    state = boto3.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]

    code, message = error_of(raised)
    assert code == "KMSInvalidStateException"
    assert connected_store in message
    assert state == "Unavailable"


def test_generate_data_key_with_store_key_round_trips(connected_store: str) -> None:
    kms = boto3.client("kms")
    key_id = create_store_key(connected_store)

    data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    decrypted = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"])

    assert len(data_key["Plaintext"]) == 32
    assert decrypted["Plaintext"] == data_key["Plaintext"]
    assert decrypted["KeyId"].endswith(key_id)


def test_decrypt_with_key_of_disconnected_store_is_refused(
    cluster: ClusterSetup, connected_store: str
) -> None:
    kms = boto3.client("kms")
    key_id = create_store_key(connected_store)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"data")["CiphertextBlob"]
    disconnect(cluster, connected_store)

    with pytest.raises(ClientError) as raised:
        kms.decrypt(CiphertextBlob=blob)

    code, message = error_of(raised)
    assert describe(connected_store)["ConnectionState"] == "DISCONNECTED"
    assert code == "KMSInvalidStateException"
    assert f"Decrypt cannot use key {key_id}" in message
    assert connected_store in message


def test_generate_data_key_with_key_of_disconnected_store_is_refused(
    cluster: ClusterSetup, connected_store: str
) -> None:
    key_id = create_store_key(connected_store)
    disconnect(cluster, connected_store)

    with pytest.raises(ClientError) as raised:
        boto3.client("kms").generate_data_key(KeyId=key_id, KeySpec="AES_256")

    code, message = error_of(raised)
    assert code == "KMSInvalidStateException"
    assert f"GenerateDataKey cannot use key {key_id}" in message


@pytest.mark.parametrize("days", [6, 31])
def test_schedule_key_deletion_window_out_of_range_is_refused(
    connected_store: str, days: int
) -> None:
    key_id = create_store_key(connected_store)

    with pytest.raises(ClientError) as raised:
        boto3.client("kms").schedule_key_deletion(
            KeyId=key_id, PendingWindowInDays=days
        )
    state = boto3.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]

    code, message = error_of(raised)
    assert code == "ValidationException"
    assert message.startswith(
        f"PendingWindowInDays must be between 7 and 30, got {days}."
    )
    assert state == "Enabled"


def test_schedule_key_deletion_window_out_of_range_for_kms_key_is_refused(
    emulator: Emulator,
) -> None:
    kms = boto3.client("kms")
    key_id = kms.create_key(Description="not in a key store")["KeyMetadata"]["KeyId"]

    with pytest.raises(ClientError) as raised:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=6)

    assert error_of(raised)[0] == "ValidationException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_schedule_key_deletion_dates_deletion_on_simulated_clock(
    cluster: ClusterSetup, connected_store: str
) -> None:
    key_id = create_store_key(connected_store)
    now = cluster.emulator.clock.now()

    scheduled = boto3.client("kms").schedule_key_deletion(
        KeyId=key_id, PendingWindowInDays=7
    )

    expected = cluster.emulator.clock.datetime_at(now + 7 * DAY)
    assert scheduled["DeletionDate"] == expected
    assert scheduled["KeyState"] == "PendingDeletion"


def test_delete_custom_key_store_connected_is_refused(connected_store: str) -> None:
    with pytest.raises(ClientError) as raised:
        boto3.client("kms").delete_custom_key_store(CustomKeyStoreId=connected_store)

    code, message = error_of(raised)
    assert code == "CustomKeyStoreInvalidStateException"
    assert f"{connected_store} is CONNECTED" in message


def test_delete_custom_key_store_waits_for_pending_key_deletion(
    cluster: ClusterSetup, connected_store: str
) -> None:
    kms = boto3.client("kms")
    key_id = create_store_key(connected_store)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)
    disconnect(cluster, connected_store)

    with pytest.raises(ClientError) as raised:
        kms.delete_custom_key_store(CustomKeyStoreId=connected_store)
    cluster.emulator.clock.advance(30 * DAY)
    kms.delete_custom_key_store(CustomKeyStoreId=connected_store)

    code, message = error_of(raised)
    assert code == "CustomKeyStoreHasCMKsException"
    assert key_id in message
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []
