"""The names of numpy's AVX-512 dispatch targets, for `NPY_DISABLE_CPU_FEATURES` (see conftest.py).

Asked of the installed numpy in a subprocess: the variable only counts if it is set before numpy's
first import in this process, and the names differ between numpy versions (one per AVX-512
extension before 2.4, the X86_V4 group from 2.4 on); a name numpy does not dispatch is warned
about at every import."""

import subprocess
import sys

ASK = "import numpy._core._multiarray_umath as m; print(' '.join(m.__cpu_dispatch__))"


def without_avx512() -> str:
    """numpy's AVX-512 dispatch targets, space-separated."""
    names = subprocess.run([sys.executable, "-c", ASK], capture_output=True, text=True, check=True).stdout
    return " ".join(name for name in names.split() if name.startswith("AVX512") or name == "X86_V4")
