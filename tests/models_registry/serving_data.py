"""What the serving tests share: the endpoints and one churn customer."""

PREDICT = "/api/v1/models/churn-classifier/predict/"
EXPLAIN = "/api/v1/models/churn-classifier/explain/"
ROW = {
    "tenure_months": 3,
    "monthly_charges": 89.5,
    "support_calls": 4,
    "age": 33,
    "contract": "month-to-month",
    "payment_method": "check",
}
