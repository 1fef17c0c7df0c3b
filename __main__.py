"""fips-keystore: a FIPS 140 Level 3 key store (CloudHSM + KMS) in one `pulumi up`."""

import pulumi

from components.stack import build
from stack_config import load_stack_config

for output_name, value in build(load_stack_config(pulumi.Config())).items():
    pulumi.export(output_name, value)
