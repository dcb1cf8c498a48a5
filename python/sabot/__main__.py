"""python -m sabot: the sabot command."""

from .cli import main

main()
