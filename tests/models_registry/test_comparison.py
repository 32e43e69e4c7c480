"""A candidate beside production: metric deltas in words, per-group and SHAP rows from each
version's latest analysis, changed parameters; shown on the version and request pages."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from governance.audit_context import Origin, acting_as
from models_registry.comparison import Row, version_compare
from models_registry.models import ReferenceDataset, VersionAnalysis
from reviews import services as reviews

pytestmark = pytest.mark.django_db


def analysed(version, users, *, auc: float, female_recall: float, importance: dict) -> None:
    dataset = ReferenceDataset.objects.create(
        model_version=version,
        file=ContentFile(b"age,label\n1,0\n", name="ref.csv"),
        original_name="ref.csv",
        format="csv",
        sha256="0" * 64,
        rows=1,
        columns={"age": "int64", "label": "int64"},
        feature_columns=["age"],
        label_column="label",
        protected_columns=["gender"],
        uploaded_by=users["ds"],
    )
    VersionAnalysis.objects.create(
        model_version=version,
        reference_dataset=dataset,
        status=VersionAnalysis.Status.DONE,
        global_importance=importance,
        overall_metrics={"count": 400, "auc": auc},
        group_metrics={"gender": {"F": {"recall": female_recall, "count": 190}}},
    )


@pytest.fixture
def pair(users, make_model, make_version):
    model = make_model(name="churn", risk_tier="low")
    old = make_version(model, metrics={"auc": 0.815, "rmse": 0.40}, params={"depth": 4, "lr": 0.1})
    new = make_version(model, metrics={"auc": 0.827, "rmse": 0.45}, params={"depth": 6, "lr": 0.1})
    with acting_as(origin=Origin.SYSTEM):
        request = reviews.promotion_request_create(
            actor=users["ds"], version=old, justification="x"
        )
        reviews.signoff_create(actor=users["validator"], request_id=request.pk, decision="approve")
        reviews.promotion_execute(actor=users["ds"], request_id=request.pk)
    return old, new


@pytest.mark.parametrize(
    ("row", "delta", "trend"),
    [
        (Row("auc", 0.815, 0.827), "+0.0120", "better"),
        (Row("rmse", 0.40, 0.45), "+0.0500", "worse"),
        (Row("mae", 0.40, 0.30), "-0.1000", "better"),
        (Row("positive_rate", 0.2, 0.3), "+0.1000", "up"),
        (Row("auc", 0.8, 0.8), "+0.0000", "same"),
        (Row("auc", None, 0.8), "", ""),
        (Row("note", "a", "b"), "", ""),
    ],
)
def test_each_delta_says_which_way_it_went(row, delta, trend):
    assert (row.delta_text, row.trend) == (delta, trend)


def test_the_candidate_is_compared_with_production(users, pair):
    old, new = pair
    comparison = version_compare(new)
    assert comparison.baseline == old
    metrics = {row.name: row for row in comparison.metrics}
    assert metrics["auc"].delta == pytest.approx(0.012)
    assert [(r.name, r.baseline, r.candidate) for r in comparison.changed_params] == [
        ("depth", 4, 6)
    ]
    assert comparison.unchanged_params == 1
    assert not comparison.analysed and comparison.groups == []
    assert version_compare(old) is None  # production beside itself: nothing to compare


def test_analyses_add_groups_and_importance(users, pair):
    old, new = pair
    analysed(old, users, auc=0.80, female_recall=0.61, importance={"age": 0.2, "tenure": 0.5})
    analysed(new, users, auc=0.83, female_recall=0.55, importance={"age": 0.6, "tenure": 0.3})
    comparison = version_compare(new)
    assert comparison.analysed
    (group,) = comparison.groups
    assert (group.attribute, group.group) == ("gender", "F")
    (recall,) = group.rows
    assert recall.delta == pytest.approx(-0.06) and recall.trend == "worse"
    assert [row.name for row in comparison.importance] == ["age", "tenure"]  # the candidate's order
    reference = [row for row in comparison.metrics if row.shown == "auc on reference data"]
    assert reference and reference[0].trend == "better"


def test_the_request_and_version_pages_show_it(client, users, pair):
    old, new = pair
    analysed(old, users, auc=0.80, female_recall=0.61, importance={"age": 0.2})
    analysed(new, users, auc=0.83, female_recall=0.55, importance={"age": 0.6})
    request = reviews.promotion_request_create(actor=users["ds"], version=new, justification="x")
    client.force_login(users["board"])
    for url in (f"/requests/{request.pk}/", "/models/churn/versions/2/"):
        html = client.get(url).content.decode()
        assert "Beside production: v2 and v1" in html
        table = html.split('id="compare-metrics"')[1].split("</table>")[0]
        assert "<td>0.8150</td><td>0.8270</td>" in table
        assert "+0.0120 better" in table and "+0.0500 worse" in table
        groups = html.split('id="compare-groups"')[1].split("</table>")[0]
        assert "gender = F" in groups and "-0.0600 worse" in groups
        assert "1 changed, 1 the same." in html
    assert "Beside production" not in client.get("/models/churn/versions/1/").content.decode()
