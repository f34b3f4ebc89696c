"""``python -m custmgmt``: the same as the ``custmgmt`` console script."""

from custmgmt.cli import main

raise SystemExit(main())
