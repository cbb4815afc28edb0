"""Pure domain logic: parsing and validation of marketplace records, and (later) the planning
maths. Nothing here imports dagster or SQLAlchemy, so every function is testable on its own."""
