"""Application stack: an S3 bucket and EBS volumes encrypted with the key store's key.

Reads `kmsKeyArn` from the fips-keystore stack named by config `keyStoreStack`.
"""

import pulumi
from encrypted_storage import AppSettings, deploy

settings = AppSettings.from_config(pulumi.Config())
app = deploy(settings)

pulumi.export("kmsKeyArn", app.key_arn)
pulumi.export("bucketName", app.storage.bucket.bucket)
pulumi.export("bucketArn", app.storage.bucket.arn)
if app.ebs is not None:
    pulumi.export("ebsDefaultKmsKeyArn", app.ebs.default_key.key_arn)
