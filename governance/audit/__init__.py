"""The audit trail: an append-only hash chain with signed checkpoints.

chain.py appends and sequences, checkpoints.py signs the head, verify.py checks the chain
and stores reports; models.py holds the tables. `governance.services` re-exports
`audit_record`, `audit_chain_verify`, `canonical_json` and `sha256_hex` for callers.
"""
