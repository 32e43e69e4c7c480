"""Checks: drift, quality, fairness and estimated performance over a window of the log.

Layout (each module has one job):

- `drift.py`, `quality.py`, `fairness.py`, `estimation.py`: the computations, plain numpy
  and scipy on columns, no Django. Each returns a result object with `as_results()` (the
  JSON stored on CheckRun.results and served by the API) and `metrics()` (name -> float or
  None, stored as CheckMetric rows: what alert rules and canary gates read).
- `inputs.py`: reads what a run compares: the version's reference data set and the window
  of logged inputs (models_registry.inference_columns), with ground truth joined by
  request_id.
- `runner.py`: runs one CheckRun by kind; services in monitoring/services/checks.py queue
  and record them; monitoring/tasks.py runs them on the `checks` queue.

Metric names (contract, "Every check stores named metrics"):
  drift:      drift_share, dataset_drift (1.0/0.0), drift.<feature> (the feature's
              statistic, as Evidently's drift score), drift.<feature>.drifted (1.0/0.0)
  quality:    accuracy, precision, recall, f1, roc_auc, log_loss, positive_rate
              (binary classification) or mae, rmse, r2 (regression); labelled
  fairness:   demographic_parity_difference.<attribute>, demographic_parity_ratio.<attribute>,
              equalized_odds_difference.<attribute>, selection_rate.<attribute>.<group>,
              tpr.<attribute>.<group>, fpr.<attribute>.<group>
  estimation: estimated_accuracy, estimated_roc_auc, and realized_accuracy,
              realized_roc_auc once labels exist
  every kind: rows (rows of the window the check used)
Named metrics of the monitoring config (`metrics:` entries) are stored beside these under
their own names (monitoring/config.py maps each to the value it stands for).
"""
