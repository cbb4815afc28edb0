"""Monitoring maths, free of I/O: the metric catalog, alert-rule validation and evaluation, the
overall status, 15-minute windows, the run slot's occupancy, and the notification messages."""
