"""The rehearsal engine: runs the fips-keystore program against the local AWS emulator.

`python -m rehearsal` is the entry point (see `rehearsal.engine.cli`).
"""
