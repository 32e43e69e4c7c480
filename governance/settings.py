"""Settings, read from environment variables with safe embedded defaults.

Embedded default (a fresh machine): SQLite under var/, tasks run in-process, console email.
Production (PRODUCTION=True): refuses to start without SECRET_KEY or with DEBUG on.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from governance.email_url import email_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.getenv("VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default)
    if value not in ("True", "False"):
        raise ImproperlyConfigured(f"Unexpected value {name}={value}, use 'True' or 'False'")
    return value == "True"


def envint(name: str, default: str) -> int:
    value = os.getenv(name, default)
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value} is not an integer") from exc


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


def embedded_secret_key() -> str:
    """A random key kept under var/, so an embedded install never runs on a known key."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


PRODUCTION = envbool("PRODUCTION", "False")
DEBUG = envbool("DEBUG", "False" if PRODUCTION else "True")

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DEBUG=True is not allowed with PRODUCTION=True")
    SECRET_KEY = os.getenv("SECRET_KEY", "")
    if not SECRET_KEY:
        raise ImproperlyConfigured("PRODUCTION=True needs SECRET_KEY in the environment")
    ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("PRODUCTION=True needs ALLOWED_HOSTS in the environment")
else:
    SECRET_KEY = os.getenv("SECRET_KEY") or embedded_secret_key()
    ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    # Check schedules (monitoring): per model and kind, editable in the admin.
    "django_celery_beat",
    "axes",  # before governance: role groups get axes' admin permissions when they sync
    "governance",
    "models_registry",
    "monitoring",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "governance.middleware.ApiErrorsAsJsonMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "governance.middleware.AuditContextMiddleware",
    "governance.middleware.ApplicationErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its 429 page
]

# The lockout check first: a locked-out username is refused before its password is tried.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "governance.urls"
WSGI_APPLICATION = "governance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.context_processors.roles",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'governance.sqlite3'}",
        conn_max_age=envint("DB_CONN_MAX_AGE", "60"),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a lock instead of failing at once when a worker thread writes too.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
FORMAT_MODULE_PATH = ["governance.formats"]  # ISO dates with the zone (formats/en)
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "reviews:queue"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns anonymous requests into 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "governance.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["governance.api.permissions.HasCapability"],
    "DEFAULT_PAGINATION_CLASS": "governance.api.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "governance.api.schema.GovernanceAutoSchema",
    "EXCEPTION_HANDLER": "governance.api.errors.exception_handler",
    # `?format=` belongs to the card endpoint (json, yaml, markdown), not to DRF's renderers.
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    # JSON in (the contract), within DATA_UPLOAD_MAX_MEMORY_SIZE, without NUL, lone
    # surrogates, numbers beyond a float or nesting beyond API_JSON_MAX_DEPTH
    # (governance/api/parsers.py). Views that take files name their own (bounded) parsers.
    "DEFAULT_PARSER_CLASSES": ["governance.api.parsers.SafeJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# How deep a JSON request body may nest (cards, configs and records need a handful of levels).
API_JSON_MAX_DEPTH = envint("API_JSON_MAX_DEPTH", "32")

SPECTACULAR_SETTINGS = {
    "TITLE": "Model Governance API",
    "DESCRIPTION": "Registry, promotion requests with signed approvals, deployments and audit.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Serve Swagger UI from the package, not a CDN: the docs work on a closed network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "monitoring.models.Incident.Status",
        "SeriousKindEnum": "monitoring.models.Incident.SeriousKind",
        "IncidentEventKindEnum": "monitoring.models.IncidentEvent.Kind",
        "VersionStageEnum": "models_registry.models.ModelVersion.Stage",
        "ServedStageEnum": ["production", "canary"],
        "RiskTierEnum": "governance.models.RiskTier",
        "CheckKindEnum": "monitoring.models.CheckRun.Kind",
        "CheckStatusEnum": "monitoring.models.CheckRun.Status",
        "CheckTriggerEnum": "monitoring.models.CheckRun.Trigger",
        "RetrainingTriggerEnum": "monitoring.models.RetrainingRun.Trigger",
        "AgendaItemSourceEnum": "reviews.models.AgendaItem.Source",
        "SourceEnum": "monitoring.models.Incident.Source",  # its name before meetings
        "DecisionKindEnum": "reviews.models.Decision.Kind",
        "MeetingStatusEnum": "reviews.models.Meeting.Status",
        "ActionItemStatusEnum": "reviews.models.Decision.Status",
        "SeverityEnum": "monitoring.models.Alert.Severity",
        "NotificationEndpointKindEnum": "monitoring.models.NotificationEndpoint.Kind",
        "NotificationDeliveryStatusEnum": "monitoring.models.NotificationDelivery.Status",
        # Incidents and alerts keep the name they had before findings brought a second set.
        "FindingStatusEnum": "reviews.finding_models.Finding.Status",
        "FindingSeverityEnum": "reviews.finding_models.Finding.Severity",
        "ValidationOutcomeEnum": "reviews.revalidation_models.Validation.Outcome",
        "RevalidationStatusEnum": "reviews.revalidation_schedule.RevalidationStatus",
    },
    # The schema and the docs follow the contract: anonymous callers get 401, readers get them.
    "SERVE_PERMISSIONS": ["governance.api.permissions.HasCapability"],
}

# Background work. Without REDIS_URL, tasks run in-process (embedded default).
REDIS_URL = os.getenv("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# A task whose worker process dies is re-run, not lost (see stack notes).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_DEFAULT_QUEUE = os.getenv("CELERY_QUEUE", "governance")
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Checks (drift, quality, fairness, estimation) run long: a queue of their own, so they never
# hold short tasks back (`celery -A governance worker -Q checks --prefetch-multiplier 1`).
CHECKS_QUEUE = os.getenv("CHECKS_QUEUE", "checks")
# Retraining fits models (minutes); notifications wait on other people's servers: each has
# its own queue, so neither holds a check or a card back.
RETRAINING_QUEUE = os.getenv("RETRAINING_QUEUE", "retraining")
NOTIFICATIONS_QUEUE = os.getenv("NOTIFICATIONS_QUEUE", "notifications")
CELERY_TASK_ROUTES = {
    "monitoring.check_execute": {"queue": CHECKS_QUEUE},
    "monitoring.retraining_execute": {"queue": RETRAINING_QUEUE},
    "monitoring.notification_deliver": {"queue": NOTIFICATIONS_QUEUE},
    "reviews.review_summary_send": {"queue": NOTIFICATIONS_QUEUE},
}
# With a broker, beat reads its schedules from the database (django-celery-beat): the check
# schedules per model and kind, editable in the admin, and the entries of
# CELERY_BEAT_SCHEDULE below, which the scheduler copies there when it starts.
if REDIS_URL:
    CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Promote or stop canaries against their gates (monitoring/canary.py).
    "every-minute-evaluate-canaries": {
        "task": "monitoring.canary_evaluate_all",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}

MEDIA_ROOT = Path(os.getenv("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
REFERENCE_DATA_MAX_BYTES = envint("REFERENCE_DATA_MAX_BYTES", str(200 * 1024 * 1024))
# What an uploaded table may hold once decoded, checked from a Parquet footer before it is
# read and while a CSV is read (models_registry/reference_tables.py): a small file must not
# become a frame that exhausts a worker's memory.
REFERENCE_DATA_MAX_ROWS = envint("REFERENCE_DATA_MAX_ROWS", "1000000")
REFERENCE_DATA_MAX_COLUMNS = envint("REFERENCE_DATA_MAX_COLUMNS", "1000")
REFERENCE_DATA_MAX_DECOMPRESSED_BYTES = envint(
    "REFERENCE_DATA_MAX_DECOMPRESSED_BYTES", str(256 * 1024 * 1024)
)

# MLflow: a local tracking store under var/ by default; a tracking server in production.
MLFLOW_TRACKING_URI = os.getenv("MLFLOW_TRACKING_URI", f"sqlite:///{VAR_DIR / 'mlflow.db'}")
MLFLOW_ARTIFACT_ROOT = os.getenv("MLFLOW_ARTIFACT_ROOT", (VAR_DIR / "mlflow-artifacts").as_uri())

# E-mail: EMAIL_URL (smtp://user:pass@host:587?tls=1, smtps://..., console://; see
# governance/email_url.py) sets the backend, host, port, credentials, TLS and timeout. Without
# it, messages are printed (console backend), or EMAIL_BACKEND names another backend.
EMAIL_URL = os.getenv("EMAIL_URL", "")
if EMAIL_URL:
    globals().update(email_settings(EMAIL_URL))
else:
    EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    EMAIL_TIMEOUT = 10  # an SMTP backend named by EMAIL_BACKEND never waits forever either
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "governance@localhost")
# Where people open this server: the links in notifications (no trailing slash).
SITE_URL = os.getenv("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Notifications (monitoring/services/notifications.py): attempts per message at most, the
# first retry's delay (doubled each time, plus up to 10 % jitter), and how long a webhook
# POST may take (connect and read, each).
NOTIFICATION_MAX_ATTEMPTS = envint("NOTIFICATION_MAX_ATTEMPTS", "6")
NOTIFICATION_RETRY_SECONDS = float(os.getenv("NOTIFICATION_RETRY_SECONDS", "30"))
NOTIFICATION_TIMEOUT_SECONDS = float(os.getenv("NOTIFICATION_TIMEOUT_SECONDS", "5"))
# The safety net under the retries each task schedules itself: a message whose worker died,
# or that waits in the embedded mode (no broker, no delays), is sent once it is due.
CELERY_BEAT_SCHEDULE["every-minute-send-due-notifications"] = {
    "task": "monitoring.notifications_send_due",
    "schedule": 60.0,
    "options": {"expires": 55},
}

# Governance defaults.
CANARY_DEFAULT_TRAFFIC = envint("CANARY_DEFAULT_TRAFFIC", "10")

# Serving. The explanation cache is Redis when REDIS_URL is set, process memory otherwise.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
SERVING_CACHE_SECONDS = envint("SERVING_CACHE_SECONDS", "3600")
# How long a process may serve from its copy of "which version is in production": a
# rollback reaches every process within this time (plus one request).
ROUTING_STATE_SECONDS = float(os.getenv("ROUTING_STATE_SECONDS", "0.5"))
# How long a process may trust its copy of a caller's token and roles on predict/explain (the
# hot path): a revoked token or a changed role reaches every process within this time.
# 0: read them on every call. Governance actions always read them afresh.
SERVING_AUTH_SECONDS = float(os.getenv("SERVING_AUTH_SECONDS", "0.5"))
# Each web process loads, when it starts and whenever a model's live versions change, the
# production, canary and rollback-target versions of every model (models_registry/serving/warm.py).
SERVING_WARM_UP = envbool("SERVING_WARM_UP", "True")
# Group commit: concurrent requests of one process share one transaction for their audit
# rows; each still waits for the commit before answering. Off: one transaction per call.
INFERENCE_LOG_GROUP_COMMIT = envbool(
    "INFERENCE_LOG_GROUP_COMMIT", "True" if PRODUCTION else "False"
)
INFERENCE_LOG_MAX_BATCH = envint("INFERENCE_LOG_MAX_BATCH", "500")
# Prediction ingest (POST /models/{name}/predictions/): records per request at most, and how
# far a record's timestamp may lie ahead of this server's clock (the caller's clock skew).
INGEST_MAX_RECORDS = envint("INGEST_MAX_RECORDS", "10000")
INGEST_CLOCK_SKEW_SECONDS = envint("INGEST_CLOCK_SKEW_SECONDS", "300")
# The columnar copy of the inference log checks read (models_registry/inference_columns.py):
# compaction merges a version's small segments up to this many rows, every few seconds;
# Arrow IPC compression "lz4" (reads 4x faster than zstd here), "zstd" or "" (none).
INFERENCE_COLUMNS_SEGMENT_ROWS = envint("INFERENCE_COLUMNS_SEGMENT_ROWS", "100000")
INFERENCE_COLUMNS_COMPACT_SECONDS = float(os.getenv("INFERENCE_COLUMNS_COMPACT_SECONDS", "60"))
INFERENCE_COLUMNS_COMPRESSION = os.getenv("INFERENCE_COLUMNS_COMPRESSION", "lz4")
# Columns a drift check computes at a time (threads; numpy releases the GIL in its sorts
# and counts): this machine has 2 cores. 1 computes them one by one.
DRIFT_THREADS = envint("DRIFT_THREADS", "2")

# API tokens (governance.ApiToken): stored as SHA-256, named, expiring, revocable; all of a
# user's tokens stop working when the password changes.
API_TOKEN_DAYS = envint("API_TOKEN_DAYS", "90")
# A token's last use is written at most this often, so no call pays a write for it.
API_TOKEN_LAST_USE_SECONDS = envint("API_TOKEN_LAST_USE_SECONDS", "60")

# Login lockout (django-axes), browser and admin logins: after LOGIN_FAILURE_LIMIT failed
# passwords for a username, that username cannot log in, even with the right password, for
# LOGIN_LOCKOUT_MINUTES after the last failure. By username, not address: guessing from many
# addresses is stopped too, at the price that anyone can hold an account locked (unlock:
# `manage.py axes_reset_username NAME`, or delete its access attempt in the admin).
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes warns without an address parameter; behind a proxy every client shares one address
# (REMOTE_ADDR), so an address lockout would lock everyone out after five typos.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

# Model formats that run their author's code when loaded (pickle, cloudpickle, a pyfunc
# PythonModel) are refused at registration and on load. True lets a deployment that trusts
# its model authors use them: still analysed only by a Celery worker on the queue below
# (run it isolated), and served only once a promotion was approved. See SECURITY.md.
ALLOW_UNSAFE_MODEL_FORMATS = envbool("ALLOW_UNSAFE_MODEL_FORMATS", "False")
UNSAFE_MODEL_ANALYSIS_QUEUE = os.getenv("UNSAFE_MODEL_ANALYSIS_QUEUE", "untrusted-models")

# The audit trail (governance/audit/): how often the sequencer and the checkpoint run, the
# checkpoints' signing key (a signed-note private key; the embedded mode generates a
# development key under VAR_DIR) and verifier keys of earlier signing keys.
AUDIT_SEQUENCE_SECONDS = float(os.getenv("AUDIT_SEQUENCE_SECONDS", "2"))
# Without a broker there is no beat to sequence the last events of a burst: every commit does.
AUDIT_SEQUENCE_NUDGE_SECONDS = float(
    os.getenv("AUDIT_SEQUENCE_NUDGE_SECONDS", "0.05" if REDIS_URL else "0")
)
AUDIT_CHECKPOINT_SECONDS = float(os.getenv("AUDIT_CHECKPOINT_SECONDS", "3600"))
AUDIT_SIGNING_KEY = os.getenv("AUDIT_SIGNING_KEY", "")
if PRODUCTION and not AUDIT_SIGNING_KEY:
    # Without it no checkpoint is signed and a rewrite of the whole chain goes unseen.
    raise ImproperlyConfigured(
        "PRODUCTION=True needs AUDIT_SIGNING_KEY in the environment "
        "(manage.py audit_checkpoint --generate-key NAME prints one)"
    )
AUDIT_VERIFY_KEYS = envlist("AUDIT_VERIFY_KEYS", "")
AUDIT_LOG_ORIGIN = os.getenv("AUDIT_LOG_ORIGIN", "model-governance/audit")
CELERY_BEAT_SCHEDULE["every-few-seconds-sequence-the-audit-chain"] = {
    "task": "governance.audit_sequence",
    "schedule": AUDIT_SEQUENCE_SECONDS,
    "options": {"expires": AUDIT_SEQUENCE_SECONDS},
}
# Check runs nobody works on (a lost message, a dead machine): queued again by a sweep
# (monitoring/services/check_sweep.py). Stale after the broker's visibility timeout, when
# Redis would have handed a live message to another worker already.
CHECK_RUN_REQUEUE_SECONDS = envint("CHECK_RUN_REQUEUE_SECONDS", "900")
CHECK_RUN_STALE_SECONDS = envint(
    "CHECK_RUN_STALE_SECONDS", str(CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] + 300)
)
CHECK_RUN_MAX_ATTEMPTS = envint("CHECK_RUN_MAX_ATTEMPTS", "3")
CELERY_BEAT_SCHEDULE["every-five-minutes-sweep-check-runs"] = {
    "task": "monitoring.check_runs_sweep",
    "schedule": 300.0,
    "options": {"expires": 290},
}
CELERY_BEAT_SCHEDULE["every-minute-compact-inference-columns"] = {
    "task": "models_registry.inference_columns_compact",
    "schedule": INFERENCE_COLUMNS_COMPACT_SECONDS,
    "options": {"expires": INFERENCE_COLUMNS_COMPACT_SECONDS},
}
CELERY_BEAT_SCHEDULE["every-day-apply-retention"] = {
    "task": "models_registry.retention_apply_all",
    "schedule": 24 * 3600.0,
}
CELERY_BEAT_SCHEDULE["every-day-erase-withdrawn-subjects"] = {
    "task": "models_registry.consent_erase_all",
    "schedule": 24 * 3600.0,
}
# Comments of flags on predictions erased or deleted by the two runs above (also on their
# commit, through models_registry.signals.inference_log_erased; this catches a missed one).
CELERY_BEAT_SCHEDULE["every-day-erase-flag-comments"] = {
    "task": "monitoring.flag_comments_erase",
    "schedule": 24 * 3600.0,
}
CELERY_BEAT_SCHEDULE["every-hour-checkpoint-the-audit-chain"] = {
    "task": "governance.audit_checkpoint",
    "schedule": AUDIT_CHECKPOINT_SECONDS,
    "options": {"expires": AUDIT_CHECKPOINT_SECONDS},
}

# Alert rules on window measurements (error rate, p95 latency, volume; monitoring/rules/):
# every ALERTS_EVALUATE_SECONDS over the last ALERTS_WINDOW_MINUTES of each live version.
# Without a broker: `manage.py alerts_evaluate_windows` (cron) does the same.
ALERTS_WINDOW_MINUTES = envint("ALERTS_WINDOW_MINUTES", "60")
ALERTS_EVALUATE_SECONDS = float(os.getenv("ALERTS_EVALUATE_SECONDS", "300"))
CELERY_BEAT_SCHEDULE["every-five-minutes-evaluate-window-alert-rules"] = {
    "task": "monitoring.alerts_evaluate_windows",
    "schedule": ALERTS_EVALUATE_SECONDS,
    "options": {"expires": ALERTS_EVALUATE_SECONDS},
}

# The board's weekly summary of the seven days before, stored and e-mailed to the members of
# every board (reviews/tasks.py), when the chapter's workflow runs: Mondays, 03:00 UTC.
CELERY_BEAT_SCHEDULE["every-monday-store-and-email-the-review-summary"] = {
    "task": "reviews.review_summary_weekly",
    "schedule": crontab(minute="0", hour="3", day_of_week="1"),
}

# A business-impact review is due this many days after each production promotion.
BUSINESS_IMPACT_REVIEW_DAYS = envint("BUSINESS_IMPACT_REVIEW_DAYS", "30")

if PRODUCTION:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "True")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    # In-process tasks would log every run into command output; workers keep INFO.
    "loggers": {
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
        # Its start-up banner on every command; login failures and lockouts still log.
        "axes.apps": {"level": "WARNING"},
    },
}

# Evidently reports of checks (monitoring/reports.py) are drawn from a seeded random sample of
# at most this many rows of the reference and as many of the window.
CHECK_REPORT_SAMPLE_ROWS = envint("CHECK_REPORT_SAMPLE_ROWS", "10000")

# /metrics (Prometheus) is open like /healthz; set METRICS_TOKEN to require
# `Authorization: Bearer <token>` (Prometheus' `authorization: {credentials: ...}`).
METRICS_TOKEN = os.getenv("METRICS_TOKEN", "")

# Content-Security-Policy (django-csp 4): pages, admin, API docs and JSON answers alike.
# No inline script or style anywhere (Swagger UI starts from a script file, see urls.py);
# img-src allows data: for the icons inside Swagger UI's stylesheet.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Retraining (monitoring/retraining/): a run needs this many labelled records of its window
# (logged features with ground truth); the default window is this many hours ending now;
# this share of the window's labelled records is held out to compare new and current model.
RETRAINING_MIN_LABELS = envint("RETRAINING_MIN_LABELS", "200")
RETRAINING_WINDOW_HOURS = envint("RETRAINING_WINDOW_HOURS", "168")
RETRAINING_HOLDOUT_SHARE = float(os.getenv("RETRAINING_HOLDOUT_SHARE", "0.25"))
if not 0 < RETRAINING_HOLDOUT_SHARE < 1:
    raise ImproperlyConfigured("RETRAINING_HOLDOUT_SHARE must lie strictly between 0 and 1")
# A run whose worker died this many times is failed instead of started again.
RETRAINING_MAX_ATTEMPTS = envint("RETRAINING_MAX_ATTEMPTS", "3")
# The system user (role ci) that registers retrained candidates and requests their
# promotion; the MLflow experiment their runs go to is this prefix plus the model's name.
RETRAINING_USERNAME = os.getenv("RETRAINING_USERNAME", "retraining-bot")
RETRAINING_EXPERIMENT = os.getenv("RETRAINING_EXPERIMENT", "retraining")
