"""Recovery from an interrupted `pulumi up`: find what the dead run created.

A run killed between a provider's answer and the state write leaves a pending
create in the stack state and, for pulumi-aws resources, a resource in AWS that
Pulumi cannot adopt by itself. `python -m recovery` finds each one by what the
program gave it (tags, names, subnets, key store) and prints the `pulumi refresh
--import-pending-creates ...` that records it; dynamic resources are cleared,
because their next create adopts what exists.
"""


class RecoveryError(Exception):
    """Base of every error the recovery command raises on purpose."""
