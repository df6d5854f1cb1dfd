"""``python -m smsco.simulator``: see ``smsco.simulator.cli``."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
