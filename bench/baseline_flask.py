"""The baseline of bench/serving.py: predict_proba plus TreeExplainer, and nothing else.

No authentication, no routing, no validation, no record, no cache. bench/serving.py serves it
with gunicorn under the same worker and thread settings as our app:

    BENCH_MODEL_PATH=/tmp/.../model.joblib gunicorn --chdir bench baseline_flask:app

The model is the fitted scikit-learn pipeline (preprocessing + gradient boosting) that the
bench also logged to MLflow and registered, saved with joblib, so both serve the same model.
"""

from __future__ import annotations

import os

import joblib
import pandas as pd
import shap
from flask import Flask, jsonify, request

model = joblib.load(os.environ["BENCH_MODEL_PATH"])
preprocess, classifier = model[:-1], model[-1]
explainer = shap.TreeExplainer(classifier)
base_value = float(explainer.expected_value[-1])

app = Flask(__name__)


@app.post("/explain/")
def explain():
    frame = pd.DataFrame([request.get_json()["features"]])
    prediction = float(model.predict_proba(frame)[0, 1])
    values = explainer.shap_values(preprocess.transform(frame))
    return jsonify(prediction=prediction, base_value=base_value, shap=values[0].tolist())
