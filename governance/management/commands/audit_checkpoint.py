"""Sign a checkpoint of the audit chain's head (or print a new signing key)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from governance.audit.checkpoints import (
    audit_checkpoint_create,
    signing_key,
    signing_key_generate,
    verifier_key_text,
)


class Command(BaseCommand):
    help = "Sequence pending audit events and sign the chain's head with AUDIT_SIGNING_KEY."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--generate-key",
            metavar="NAME",
            help="Print a new private key for AUDIT_SIGNING_KEY; sign nothing.",
        )
        parser.add_argument(
            "--verifier-key", action="store_true", help="Print the current key's verifier key."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate_key"]:
            private = signing_key_generate(options["generate_key"])
            self.stdout.write(f"AUDIT_SIGNING_KEY={private}")
            return
        if options["verifier_key"]:
            name, private = signing_key()
            self.stdout.write(verifier_key_text(name, private.public_key()))
            return
        checkpoint = audit_checkpoint_create()
        if checkpoint is None:
            self.stdout.write("The audit chain is empty: nothing to sign.")
            return
        self.stdout.write(checkpoint.note)
