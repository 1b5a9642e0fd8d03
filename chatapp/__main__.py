"""``python -m chatapp``: the same commands as the ``chatapp`` script."""

from chatapp.cli import main

if __name__ == "__main__":
    main()
