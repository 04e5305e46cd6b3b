import sys

from tfplugin.server import main

sys.exit(main(sys.argv[1:]))
