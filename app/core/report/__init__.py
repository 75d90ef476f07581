"""Model reports: each checkpoint across robustness perspectives (in distribution, distribution shift,
adversarial, calibration, anomaly detection, interpretability), side by side (`headscope report`,
/api/reports, /report). settings.py declares what a report computes, plan.py which data each checkpoint
is scored on, passes.py the model work, run.py the result."""
