from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Fact-check desk"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from annotations import audit  # noqa: F401  (connects the audit execute-wrapper)
        from annotations.dbroles import check_roles

        checks.register(check_roles)
