"""Assets, one module per stage: sources (this issue), then ingest, demand, supply, planning,
monitoring."""
