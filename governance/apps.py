from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        # signals connects the history and role hooks; checks registers the check that every
        # route declares its capability (governance/checks.py).
        from governance import checks, signals  # noqa: F401
