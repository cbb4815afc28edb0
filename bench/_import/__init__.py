"""Parts of ``bench/import_scale.py``: the generated orders file and the measured child."""
