"""The parts of ``bench/ingest_throughput.py``: fetched pages, replay, passes, meters, report.

``data`` generates the business, fetches its pages once and builds the inputs of W, B and C;
``replay`` feeds those pages to the real asset code; ``passes`` holds the measured paths (A, V,
W, B, C); ``meters`` times A's steps and counts its CPU; ``runs`` does the warm-up and the timed
repetitions; ``report`` prints the tables, ratios and verdicts; ``profiling`` profiles one A pass.
"""
