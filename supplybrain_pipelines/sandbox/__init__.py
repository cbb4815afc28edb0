"""Local, deterministic emulator of the WB statistics and MoySklad 1.2 APIs, and the seeded
generator of the business behind it.

- ``generator.generate_business(seed, as_of, days, articles) -> Business`` (pure Python)
- ``server.SandboxServer`` (a context manager: real HTTP on 127.0.0.1) and ``serve_forever``
- ``faults.Faults`` (switched on at run time; also ``POST /__sandbox/faults``)
- ``seed.load_master_data`` / ``seed.register_accounts`` (write the business into PostgreSQL)

Run it in the foreground with ``python -m supplybrain_pipelines.sandbox``.
This package's ``__init__`` imports only the pure generator.
"""

from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.model import Business

__all__ = ["Business", "generate_business"]
