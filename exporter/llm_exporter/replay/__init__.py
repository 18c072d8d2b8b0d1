"""Incident replay: the rule pack over a synthetic normal week and the seeds' incidents.

    llm-exporter replay            # every scenario, a Markdown table on stdout
    llm-exporter replay --scenario agent-loop

``run()`` returns per scenario the alerts that fired and when; ``report()`` turns that into
the table: for each incident the first alert and the time to detect, for the normal week every
alert that fired (the target: none).
"""
