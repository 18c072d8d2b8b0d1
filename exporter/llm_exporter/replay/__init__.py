"""Incident replay: the rule pack judged on seeded synthetic worlds it was not tuned to.

    llm-exporter replay                                   # every world, every incident
    llm-exporter replay --world small-legal --incident tool-timeouts --days-history 2

worlds.py says what each world is; world.py draws its series; incidents.py and timeline.py
stage every incident by day and at night; evaluate.py runs promtool; score.py and report.py
turn its answers into detections, times to detect, normal-week alerts and NaN baselines.
"""
