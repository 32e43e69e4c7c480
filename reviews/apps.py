from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"

    def ready(self) -> None:
        from models_registry.cards import register_card_section
        from models_registry.page_panels import register_model_banners, register_model_panel
        from reviews import receivers  # noqa: F401  (listens to registry signals)
        from reviews.card_section import approvals_section
        from reviews.model_panels import (
            findings_panel,
            request_banners,
            revalidation_banners,
            revalidation_panel,
        )

        register_card_section("approvals", approvals_section)
        register_model_panel(
            "revalidation", template="reviews/_revalidation_panel.html", context=revalidation_panel
        )
        register_model_panel(
            "findings", template="reviews/_findings_panel.html", context=findings_panel
        )
        register_model_banners("requests", request_banners)
        register_model_banners("revalidation", revalidation_banners)
