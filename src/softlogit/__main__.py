"""``python -m softlogit``: the command line."""

from .product.cli import main

if __name__ == "__main__":
    main()
