"""Tests of the Ray Serve simulator; runnable as
``python3 -m unittest discover -s deploy/ray/tests`` (with or without
``-t deploy/ray``). The helpers (``jobs``, ``reference``) import as top-level
modules either way."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
