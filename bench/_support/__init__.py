"""What the bench scripts share: console output and the embedded PostgreSQL they run on.

Only the standard library is imported at module level, so that a timed child process (see
``planning_scale.py --child``) does not pay for psycopg or SQLAlchemy before its own clock starts.
"""
