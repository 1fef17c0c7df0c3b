"""Program tests for the application stack example under Pulumi mocks."""

from __future__ import annotations

import runpy

import pulumi
import pytest

from tests.examples.conftest import APP_DIR, KEY_ARN

STACK = "acme/fips-keystore/dev"


def _deploy(manage_ebs_encryption: bool = True):
    from encrypted_storage import AppSettings, deploy

    return deploy(AppSettings(STACK, manage_ebs_encryption))


def _all_registered(app) -> pulumi.Output:
    resources = [
        app.storage.bucket,
        app.storage.encryption,
        app.storage.public_access_block,
    ]
    if app.ebs is not None:
        resources += [app.ebs.enabled, app.ebs.default_key]
    return pulumi.Output.all(*(resource.id for resource in resources))


def test_deploy_reads_key_store_stack_reference(app_mocks, resolve):
    mocks = app_mocks()

    app = _deploy()

    assert resolve(app.key_arn) == KEY_ARN
    [reference] = mocks.inputs_of("pulumi:pulumi:StackReference")
    assert reference["name"] == STACK


def test_deploy_bucket_encrypted_with_referenced_key(app_mocks, resolve):
    mocks = app_mocks()

    resolve(_all_registered(_deploy()))

    [encryption] = mocks.inputs_of(
        "aws:s3/bucketServerSideEncryptionConfiguration:"
        "BucketServerSideEncryptionConfiguration"
    )
    [rule] = encryption["rules"]
    by_default = rule["applyServerSideEncryptionByDefault"]
    assert by_default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}
    assert rule["bucketKeyEnabled"] is True
    assert encryption["bucket"] == "app-data-id"


def test_deploy_bucket_public_access_fully_blocked(app_mocks, resolve):
    mocks = app_mocks()

    resolve(_all_registered(_deploy()))

    [block] = mocks.inputs_of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block["bucket"] == "app-data-id"
    flags = (
        "blockPublicAcls",
        "blockPublicPolicy",
        "ignorePublicAcls",
        "restrictPublicBuckets",
    )
    assert {flag: block[flag] for flag in flags} == dict.fromkeys(flags, True)


def test_deploy_ebs_default_key_is_referenced_key(app_mocks, resolve):
    mocks = app_mocks()

    resolve(_all_registered(_deploy()))

    [enabled] = mocks.inputs_of("aws:ebs/encryptionByDefault:EncryptionByDefault")
    [default_key] = mocks.inputs_of("aws:ebs/defaultKmsKey:DefaultKmsKey")
    assert enabled["enabled"] is True
    assert default_key["keyArn"] == KEY_ARN


def test_deploy_without_ebs_management_leaves_ebs_alone(app_mocks, resolve):
    mocks = app_mocks()

    app = _deploy(manage_ebs_encryption=False)
    resolve(_all_registered(app))

    assert app.ebs is None
    assert mocks.inputs_of("aws:ebs/defaultKmsKey:DefaultKmsKey") == []
    assert mocks.inputs_of("aws:ebs/encryptionByDefault:EncryptionByDefault") == []


def test_deploy_missing_key_output_raises_clear_error(app_mocks, resolve):
    from encrypted_storage import AppStackError

    app_mocks(key_store_outputs={"clusterId": "cluster-abc"})

    app = _deploy()

    with pytest.raises(AppStackError) as raised:
        resolve(app.key_arn)
    message = str(raised.value)
    assert f"Stack reference '{STACK}' has no output 'kmsKeyArn'" in message
    assert "createKeyStore true" in message
    assert f"pulumi stack output kmsKeyArn --stack {STACK}" in message
    assert isinstance(raised.value, pulumi.RunError)


def test_deploy_missing_key_output_never_reaches_resources(app_mocks, resolve):
    from encrypted_storage import AppStackError

    mocks = app_mocks(key_store_outputs={})

    app = _deploy()

    with pytest.raises(AppStackError):
        resolve(app.storage.encryption.id)
    with pytest.raises(AppStackError):
        resolve(app.ebs.default_key.id)
    assert mocks.inputs_of("aws:ebs/defaultKmsKey:DefaultKmsKey") == []


def test_deploy_key_output_not_an_arn_raises_clear_error(app_mocks, resolve):
    from encrypted_storage import AppStackError

    app_mocks(key_store_outputs={"kmsKeyArn": "alias/fips-keystore"})

    app = _deploy()

    with pytest.raises(AppStackError, match="is 'alias/fips-keystore', not a KMS key"):
        resolve(app.key_arn)


def test_deploy_key_in_other_region_raises_clear_error(app_mocks, resolve):
    from encrypted_storage import AppStackError

    app_mocks(region="eu-west-1")

    app = _deploy()

    with pytest.raises(AppStackError) as raised:
        resolve(app.key_arn)
    message = str(raised.value)
    assert "is in Region 'us-east-1', but this stack deploys to 'eu-west-1'" in message
    assert "pulumi config set aws:region us-east-1" in message


def test_settings_stack_name_not_qualified_raises_clear_error(app_mocks):
    app_mocks()
    from encrypted_storage import AppStackError, checked_stack_name

    with pytest.raises(AppStackError) as raised:
        checked_stack_name("dev")

    message = str(raised.value)
    assert "Config keyStoreStack is 'dev'" in message
    assert "pulumi config set keyStoreStack acme/fips-keystore/dev" in message


def test_program_exports_key_and_bucket(app_mocks, resolve):
    app_mocks(config={"fips-keystore-app:keyStoreStack": STACK})

    runpy.run_path(str(APP_DIR / "__main__.py"), run_name="__main__")

    outputs = pulumi.runtime.get_root_resource().outputs
    assert resolve(outputs["kmsKeyArn"]) == KEY_ARN
    assert resolve(outputs["bucketName"]) == "app-data-4f2a9c"
    assert resolve(outputs["ebsDefaultKmsKeyArn"]) == KEY_ARN


def test_program_without_key_store_stack_config_names_the_key(app_mocks):
    app_mocks(config={})

    with pytest.raises(pulumi.ConfigMissingError) as raised:
        runpy.run_path(str(APP_DIR / "__main__.py"), run_name="__main__")

    assert "fips-keystore-app:keyStoreStack" in str(raised.value)


def test_program_manage_ebs_false_skips_ebs_export(app_mocks, resolve):
    app_mocks(
        config={
            "fips-keystore-app:keyStoreStack": STACK,
            "fips-keystore-app:manageEbsEncryption": "false",
        }
    )

    runpy.run_path(str(APP_DIR / "__main__.py"), run_name="__main__")

    outputs = pulumi.runtime.get_root_resource().outputs
    assert "ebsDefaultKmsKeyArn" not in outputs
    assert resolve(outputs["bucketName"]) == "app-data-4f2a9c"
