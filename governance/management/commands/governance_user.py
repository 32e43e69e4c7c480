from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.audit_context import Origin, acting_as
from governance.errors import InvalidInput
from governance.roles import Role
from governance.services import user_set_roles, user_token


class Command(BaseCommand):
    help = "Create a user with governance roles (or replace an existing user's roles)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            action="append",
            required=True,
            choices=Role.values,
            dest="roles",
            help="A role; repeat for several.",
        )
        parser.add_argument("--password", help="Set this password (else keep or leave unusable).")
        parser.add_argument(
            "--token",
            action="store_true",
            help="Print the user's API token as the last line of output.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with acting_as(origin=Origin.COMMAND):
            try:
                user, created = user_set_roles(
                    username=options["username"],
                    roles=options["roles"],
                    password=options["password"],
                )
            except InvalidInput as error:
                raise CommandError(error.detail) from error
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {user.username} with roles: {', '.join(options['roles'])}")
        if options["token"]:
            self.stdout.write(user_token(user=user))
