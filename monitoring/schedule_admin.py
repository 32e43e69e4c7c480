"""The admin of check schedules (django-celery-beat's PeriodicTask), for compliance officers.

They may change when a check runs (its schedule, enabled or not, expiry) but not what it
runs: which task, its arguments, its queue and routing are read-only to everyone but
superusers, since a periodic task's name could call any task the workers know (a promotion's
execution, say) with any arguments. Each edit goes through `check_schedule_save`, which
puts it on the audit trail; only superusers add or delete schedules.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from monitoring.services.check_schedules import check_schedule_save

# What a periodic task runs, and where: fixed unless the user is a superuser.
WHAT_IT_RUNS = (
    "name",
    "task",
    "args",
    "kwargs",
    "queue",
    "exchange",
    "routing_key",
    "priority",
    "headers",
)


class CheckScheduleAdmin(PeriodicTaskAdmin):
    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        # `regtask` is the form's picker of a task name: not shown to those who cannot set one.
        return [
            (title, {**options, "fields": tuple(f for f in options["fields"] if f != "regtask")})
            for title, options in fieldsets
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = tuple(super().get_readonly_fields(request, obj))
        return fixed if request.user.is_superuser else (*fixed, *WHAT_IT_RUNS)

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        if request.user.is_superuser:
            return form

        class ScheduleOnlyForm(form):
            def clean(self) -> dict[str, Any]:
                # The base form requires a task name, which is read-only here: the stored one.
                self.cleaned_data.setdefault("task", self.instance.task)
                return super().clean()

        return ScheduleOnlyForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: PeriodicTask, form: Any, change: bool) -> None:
        stored = {field.name for field in PeriodicTask._meta.fields}  # not the form's `regtask`
        changed = [name for name in form.changed_data if name in stored]
        check_schedule_save(actor=request.user, task=obj, changed=changed)


if admin.site.is_registered(PeriodicTask):
    admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, CheckScheduleAdmin)
