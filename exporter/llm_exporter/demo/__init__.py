"""`llm-exporter demo`: runner, workload and incidents (see runner.py)."""
