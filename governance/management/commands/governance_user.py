from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from governance.audit_context import Origin, acting_as
from governance.errors import InvalidInput
from governance.models import ApiToken
from governance.roles import ROLE_CAPABILITIES, Role, roles_withheld
from governance.services import token_create, tokens_revoke, user_set_roles


class Command(BaseCommand):
    help = (
        "Create a user with governance roles (or replace an existing user's roles). "
        "API tokens are stored hashed, so a key is shown once: --token mints a new one."
    )

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
        tokens = parser.add_mutually_exclusive_group()
        tokens.add_argument(
            "--token",
            action="store_true",
            help="Mint a new API token and print its key as the last line of output. Keys "
            "are stored hashed and cannot be shown again; the user's other tokens keep working.",
        )
        tokens.add_argument(
            "--rotate",
            action="store_true",
            help="Revoke all the user's API tokens, then mint one and print it like --token.",
        )
        tokens.add_argument(
            "--revoke", action="store_true", help="Revoke all the user's API tokens."
        )
        parser.add_argument(
            "--token-name",
            default=None,
            help="Name of the minted token, shown in the admin (default: cli).",
        )
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help=f"Days until the minted token expires (default: {settings.API_TOKEN_DAYS}, "
            "the API_TOKEN_DAYS setting).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        minting = options["token"] or options["rotate"]
        if not minting and (options["token_name"] or options["expires_days"] is not None):
            raise CommandError("--token-name and --expires-days go with --token or --rotate.")
        # All or nothing: a refused token (say, --expires-days 0) leaves roles and tokens as
        # they were, rather than a rotation that revoked the old keys and minted none.
        with acting_as(origin=Origin.COMMAND), transaction.atomic():
            try:
                user, created = user_set_roles(
                    username=options["username"],
                    roles=options["roles"],
                    password=options["password"],
                )
                verb = "Created" if created else "Updated"
                roles = ", ".join(options["roles"])
                self.stdout.write(f"{verb} {user.username} with roles: {roles}")
                self._warn_withheld(user.username, options["roles"])
                if options["rotate"] or options["revoke"]:
                    flag = "--rotate" if options["rotate"] else "--revoke"
                    count = tokens_revoke(
                        tokens=ApiToken.objects.filter(user=user), reason=f"governance_user {flag}"
                    )
                    self.stdout.write(f"Revoked {count} API token(s) of {user.username}.")
                if minting:
                    token, key = token_create(
                        user=user,
                        name=options["token_name"] or "cli",
                        expires_days=options["expires_days"],
                    )
                    self.stdout.write(
                        f"API token {token.name!r} ({token.prefix}...), expires "
                        f"{token.expires_at:%Y-%m-%d %H:%M} UTC; it is not shown again:"
                    )
                    self.stdout.write(key)
            except InvalidInput as error:
                raise CommandError(error.detail) from error

    def _warn_withheld(self, username: str, roles: list[str]) -> None:
        """Say so when a role takes away what another grants (`ci` plus `validator`).

        Before any token line: a minted key stays the last line, alone.
        """
        for role, capabilities in roles_withheld(roles).items():
            what = " or ".join(cap.label[0].lower() + cap.label[1:] for cap in sorted(capabilities))
            granting = sorted(
                other for other in set(roles) if capabilities & ROLE_CAPABILITIES[Role(other)]
            )
            self.stdout.write(
                self.style.WARNING(
                    f"Warning: {role.value} never may {what}, whatever other roles it holds, "
                    f"so {username} cannot (although {', '.join(granting)} would allow it)."
                )
            )
