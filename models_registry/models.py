from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

from governance.history import governed_history
from governance.models import RiskTier


class RegisteredModel(models.Model):
    """A model the company runs or plans to run, addressed by its unique slug `name`."""

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_models"
    )
    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices)
    intended_use = models.TextField(blank=True)
    out_of_scope_uses = models.TextField(blank=True)
    protected_attributes = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    canary_traffic = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(100)],
        help_text="Share of predict traffic (percent) routed to the canary version.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = governed_history()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(canary_traffic__lte=100), name="canary_traffic_is_a_percentage"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ModelVersion(models.Model):
    """One trained version of a model; numbered 1, 2, 3 ... per model."""

    class Stage(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        CANARY = "canary", "Canary"
        PRODUCTION = "production", "Production"
        ARCHIVED = "archived", "Archived"
        REJECTED = "rejected", "Rejected"

    class CardStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.CANDIDATE)
    metrics = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    mlflow_run_id = models.CharField(max_length=64, blank=True)
    artifact_uri = models.CharField(max_length=500, blank=True)
    git_commit = models.CharField(max_length=64, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="registered_versions"
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    card_status = models.CharField(
        max_length=16, choices=CardStatus.choices, default=CardStatus.PENDING
    )
    card_hash = models.CharField(max_length=64, blank=True)
    declared = models.JSONField(
        default=dict,
        blank=True,
        help_text="Metrics and params the registrant sent; they win over the run's on refresh.",
    )
    run_facts = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the MLflow run said when the version was registered.",
    )
    limitations = models.TextField(blank=True, help_text="Known limitations, written by people.")
    ethical_considerations = models.TextField(blank=True)

    history = governed_history()

    class Meta:
        ordering = ["model__name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="version_number_per_model"),
            models.UniqueConstraint(
                fields=["model"],
                condition=models.Q(stage="production"),
                name="one_production_version_per_model",
            ),
            models.UniqueConstraint(
                fields=["model"],
                condition=models.Q(stage="canary"),
                name="one_canary_version_per_model",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.version}"

    @property
    def run_author(self) -> str:
        """Who ran the MLflow run this version came from (its `mlflow.user`), or ""."""
        return str((self.run_facts or {}).get("user") or "")


class ModelCardRevision(models.Model):
    """One immutable revision of a version's model card; the latest one's hash is signed."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="card_revisions"
    )
    revision = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_version", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version", "revision"], name="card_revision_number_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_version} card r{self.revision}"


class DeploymentEvent(models.Model):
    """Append-only log of what went to production or canary, and what was taken back."""

    class Kind(models.TextChoices):
        PROMOTED = "promoted", "Promoted to production"
        CANARY_STARTED = "canary_started", "Canary started"
        CANARY_PROMOTED = "canary_promoted", "Canary promoted to production"
        CANARY_STOPPED = "canary_stopped", "Canary stopped"
        ROLLED_BACK = "rolled_back", "Rolled back"

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="deployment_events"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    previous_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="What caused it, e.g. promotion-request:12."
    )
    canary_traffic = models.PositiveSmallIntegerField(default=0)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model.name}: {self.get_kind_display()} v{self.version.version}"


def reference_upload_path(instance: ReferenceDataset, filename: str) -> str:
    version = instance.model_version
    return f"reference/{version.model.name}/v{version.version}/{instance.sha256[:16]}-{filename}"


class ReferenceDataset(models.Model):
    """The data a version is compared against (drift) and explained on (SHAP); latest wins."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        PARQUET = "parquet", "Parquet"

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="reference_datasets"
    )
    file = models.FileField(upload_to=reference_upload_path)
    original_name = models.CharField(max_length=255)
    format = models.CharField(max_length=16, choices=Format.choices)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    columns = models.JSONField(help_text="Column name -> dtype, in file order.")
    feature_columns = models.JSONField()
    label_column = models.CharField(max_length=100, blank=True)
    protected_columns = models.JSONField(default=list)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When retention deleted the file; its hash, shape and columns stay.",
    )

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_version} reference ({self.rows} rows)"


class VersionAnalysis(models.Model):
    """Explainability and per-group evaluation of a version on a reference data set."""

    class Status(models.TextChoices):
        DONE = "done", "Done"
        UNAVAILABLE = "unavailable", "Unavailable"
        FAILED = "failed", "Failed"

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="analyses"
    )
    reference_dataset = models.ForeignKey(
        ReferenceDataset, on_delete=models.PROTECT, related_name="analyses"
    )
    status = models.CharField(max_length=16, choices=Status.choices)
    detail = models.TextField(blank=True)
    explainer = models.CharField(max_length=100, blank=True)
    sample_rows = models.PositiveIntegerField(default=0)
    global_importance = models.JSONField(default=dict, blank=True)
    overall_metrics = models.JSONField(default=dict, blank=True)
    group_metrics = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-computed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model_version} analysis ({self.status})"


class Prediction(models.Model):
    """One answered call: the inference log, and the audit record of every prediction.

    Served here (predict/explain) or logged from a model served elsewhere. A served call's
    row is committed before its 200 response is sent.
    """

    class Source(models.TextChoices):
        SERVED = "served", "Served here"
        LOGGED = "logged", "Logged from outside"

    class Slot(models.TextChoices):
        PRODUCTION = "production", "Production"
        CANARY = "canary", "Canary"
        UNKNOWN = "", "Not known"

    # No single-column indexes on model and version: the composite ones below lead with
    # them, and every index is one more write per answered call.
    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    request_id = models.CharField(max_length=100)
    source = models.CharField(max_length=16, choices=Source.choices)
    slot = models.CharField(max_length=16, choices=Slot.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField()
    features = models.JSONField()
    attributes = models.JSONField(
        default=dict,
        blank=True,
        help_text="Protected or segment attributes the model never sees (gender, region): "
        "fairness checks and segments read them.",
    )
    prediction = models.FloatField(null=True, blank=True)
    explanation = models.JSONField(
        null=True, blank=True, help_text='{"base_value": ..., "shap": {feature: value}}'
    )
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.CharField(
        max_length=500, blank=True, help_text="Why the model failed, if it did."
    )
    batch = models.UUIDField(
        null=True,
        blank=True,
        db_index=True,
        editable=False,
        help_text="The inference-log transaction that wrote it; the audit event of the batch "
        "holds the SHA-256 of all its rows.",
    )
    subject_id = models.CharField(
        max_length=100,
        blank=True,
        help_text="Whom the call was about, if the caller said: consent withdrawals find "
        "the subject's records by it.",
    )
    salt = models.CharField(
        max_length=32,
        blank=True,
        editable=False,
        help_text="Random; the batch's audit event covers the SHA-256 of salt and content. "
        "Erased with the personal fields.",
    )
    record_hash = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Set when the personal fields are erased: what the batch digest covers.",
    )
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["model", "request_id"], name="request_id_per_model")
        ]
        indexes = [
            models.Index(fields=["model", "occurred_at"], name="prediction_model_time"),
            models.Index(fields=["version", "occurred_at"], name="prediction_version_time"),
            # Only rows that name a subject: the others cost no index write.
            models.Index(
                fields=["subject_id"],
                condition=~models.Q(subject_id=""),
                name="prediction_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.model_id} v{self.version_id}"


class LegalBasis(models.TextChoices):
    """The six lawful bases of GDPR Art. 6(1) for processing personal data."""

    CONSENT = "consent", "Consent (Art. 6(1)(a))"
    CONTRACT = "contract", "Contract (Art. 6(1)(b))"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation (Art. 6(1)(c))"
    VITAL_INTERESTS = "vital_interests", "Vital interests (Art. 6(1)(d))"
    PUBLIC_TASK = "public_task", "Public task (Art. 6(1)(e))"
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests (Art. 6(1)(f))"


class RetentionPolicy(models.Model):
    """How long a model's inference log and reference data are kept; a legal hold keeps all;
    and the legal basis on which the model processes personal data (GDPR Art. 6(1)).

    No policy, or no period, keeps everything. The daily retention task deletes whole
    batches older than the period and leaves a `retention.deleted` event on the chain.
    The legal basis sits beside the periods because the two are decided together: how long
    data may be kept follows from why it may be processed at all. Blank: not recorded.
    """

    LegalBasis = LegalBasis

    model = models.OneToOneField(
        RegisteredModel, on_delete=models.PROTECT, related_name="retention_policy"
    )
    inference_log_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Delete predictions older than this; empty: keep."
    )
    reference_data_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Delete reference data files older than this; empty: keep."
    )
    legal_hold = models.BooleanField(
        default=False, help_text="While set, nothing of this model's data is deleted."
    )
    legal_hold_reason = models.CharField(max_length=500, blank=True)
    legal_basis = models.CharField(
        max_length=32,
        choices=LegalBasis.choices,
        blank=True,
        help_text="GDPR Art. 6(1) basis of processing this model's personal data; empty: "
        "not recorded.",
    )
    legal_basis_note = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Which legitimate interest, which law, which contract: what the basis rests on.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = governed_history()

    class Meta:
        verbose_name_plural = "retention policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(legal_hold=False) | ~models.Q(legal_hold_reason=""),
                name="legal_hold_has_a_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(legal_basis__in=["", *LegalBasis.values]),
                name="legal_basis_is_art_6_1",
            ),
        ]

    def __str__(self) -> str:
        kept = f"{self.inference_log_days} days" if self.inference_log_days else "kept"
        return f"{self.model}: inference log {kept}{' (legal hold)' if self.legal_hold else ''}"


class ConsentWithdrawal(models.Model):
    """A subject withdrew consent: their predictions' personal fields are to be erased.

    Kept as the record of the request (who asked, when, when it was done). The subject id
    stays here so that records about the subject logged later are erased too; the audit
    chain only ever holds its hash with this row's salt.
    """

    subject_id = models.CharField(max_length=100, unique=True)
    salt = models.CharField(max_length=32, editable=False)
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    erased_at = models.DateTimeField(null=True, blank=True, help_text="Last erasure run.")
    records_erased = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        done = f"erased {self.erased_at:%Y-%m-%d}" if self.erased_at else "pending"
        return f"consent withdrawal {self.pk} ({done})"


class PredictionSegment(models.Model):
    """A columnar copy of answered inference-log rows of one version, for checks to read.

    Derived from Prediction (the system of record) and rebuildable from it
    (`manage.py inference_columns_rebuild`); `data` is an Arrow IPC stream, one column per
    feature and attribute (models_registry/inference_columns.py describes the layout).
    Written with the rows, merged by compaction, reached by retention and consent erasure.
    """

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    first_at = models.DateTimeField(help_text="The earliest occurred_at of its rows.")
    last_at = models.DateTimeField(help_text="The latest occurred_at of its rows.")
    rows = models.PositiveIntegerField()
    format = models.PositiveSmallIntegerField(default=1)
    data = models.BinaryField()
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["version", "first_at"], name="segment_version_time"),
            models.Index(fields=["model", "first_at"], name="segment_model_time"),
        ]

    def __str__(self) -> str:
        return f"segment {self.pk} of version {self.version_id} ({self.rows} rows)"
