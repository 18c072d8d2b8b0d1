"""The rule pack generator: a thresholds file in, Prometheus rule files and the runbook out.

config = thresholds.load("rules/thresholds.yaml", ALERTS)
files = render.rule_files(config)          # {"app.rules.yaml": "...", ...}
"""
