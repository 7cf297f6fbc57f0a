"""Every ```python block of docs/python.md (in order, one interpreter) and of README.md runs as
written, from a scratch folder where models/ is the repository's: the docs stay true."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT


def blocks(doc):
    text = open(os.path.join(ROOT, doc)).read()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.parametrize("doc", ["docs/python.md", "README.md"])
def test_python_blocks_run(tmp_path, doc):
    code = blocks(doc)
    assert code, f"{doc}: no python blocks"
    os.symlink(os.path.join(ROOT, "models"), tmp_path / "models")
    (tmp_path / "out").mkdir()
    script = tmp_path / "doc.py"
    script.write_text("\n".join(code))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0, f"{doc}:\n{r.stdout}\n{r.stderr}"
    if doc == "docs/python.md":
        assert (tmp_path / "layers.svg").exists() and (tmp_path / "report.json").exists()
