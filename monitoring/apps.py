from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from models_registry.cards import register_card_section
        from models_registry.page_panels import register_model_banners
        from monitoring import receivers  # noqa: F401  (incidents, schedules, alert rules)
        from monitoring.card_section import monitoring_section
        from monitoring.model_banners import incident_banners
        from monitoring.notify import receivers as notify_receivers  # noqa: F401  (e-mail, webhooks)

        register_card_section("monitoring", monitoring_section)
        register_model_banners("incidents", incident_banners)
