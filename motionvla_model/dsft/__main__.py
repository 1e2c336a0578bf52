"""``python -m motionvla_model.dsft`` is ``motionvla-dsft``."""

from motionvla_model.dsft.cli import main

raise SystemExit(main())
