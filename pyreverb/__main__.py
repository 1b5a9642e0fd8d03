"""``python -m pyreverb``: the same commands as the ``pyreverb`` script."""

from pyreverb.cli import main

if __name__ == "__main__":
    main()
