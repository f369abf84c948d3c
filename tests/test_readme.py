"""The README's Python example runs as written."""

import re
from pathlib import Path


def test_readme_python_blocks_run():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    namespace = {}  # the blocks build on each other, as in a notebook
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert abs(namespace["glm"].coef_ - namespace["net"].coef_).max() < 1e-4
    assert namespace["s"].predict_proba(namespace["X3"]).shape == (200, 3)
    assert namespace["f"].converged_ and namespace["low"].shape == (5, 2)
