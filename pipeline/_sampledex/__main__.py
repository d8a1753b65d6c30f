"""``python -m sampledex``: the same command line as the ``sampledex`` script."""

import sys

from sampledex.pipeline.cli import main

sys.exit(main())
