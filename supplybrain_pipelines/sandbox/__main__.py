"""``python -m supplybrain_pipelines.sandbox``: run the marketplace sandbox in the foreground."""

from __future__ import annotations

import argparse
from datetime import date

from supplybrain_pipelines.sandbox.generator import generate_business
from supplybrain_pipelines.sandbox.server import serve_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m supplybrain_pipelines.sandbox",
        description="Serve the WB statistics and MoySklad 1.2 emulators on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="the business's today (YYYY-MM-DD); default: today (UTC)")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--page-cap", type=int, default=1000)
    parser.add_argument("--wb-min-interval", type=float, default=0.0,
                        help="seconds between two requests of one WB method per token")
    args = parser.parse_args(argv)
    business = generate_business(args.seed, args.as_of, args.days, args.articles)
    try:
        serve_forever(business, host=args.host, port=args.port, page_cap=args.page_cap,
                      wb_min_interval_s=args.wb_min_interval)
    except ValueError as exc:
        parser.exit(1, f"Error: {exc}\n")


if __name__ == "__main__":
    main()
