"""The ``softlogit`` command line."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="softlogit")
def main():
    """softlogit: logistic and softmax regression, fitted as a GLM and as a network."""


@main.command()
def demo():
    """Fit bundled example data by Newton (GLM) and by Adam (network) and compare."""
    from .demo import run_demo

    text, _ = run_demo()
    click.echo(text)


if __name__ == "__main__":  # pragma: no cover
    main()
