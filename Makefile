# The two README commands. Both set everything up from nothing (Python + pip are enough).
.PHONY: dev test lint

dev:  ## Run the local default: embedded PostgreSQL, migrations, Dagster UI on 127.0.0.1:3000
	@./scripts/dev

test: ## Bootstrap and run the test suite against a real PostgreSQL
	@./scripts/test

lint:
	@./scripts/bootstrap.sh && .venv/bin/ruff check .
