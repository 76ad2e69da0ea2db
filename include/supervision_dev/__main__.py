import sys

from supervision_dev.cli import main

sys.exit(main())
