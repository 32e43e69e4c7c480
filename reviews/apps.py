from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        from models_registry.cards import register_card_section
        from reviews import receivers  # noqa: F401  (listens to registry signals)
        from reviews.card_section import approvals_section

        register_card_section("approvals", approvals_section)
