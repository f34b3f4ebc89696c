"""``python -m custmgmt``: the same as the ``custmgmt`` console script."""

import sys

try:
    from custmgmt.cli import main
except KeyboardInterrupt:
    # Ctrl-C while the library is still being imported: end as main() does, not with
    # a traceback.
    print("custmgmt: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
