# SPDX-License-Identifier: MIT
"""Matplotlib for the tools' plots (Debian's python3-matplotlib, headless)."""
import sys


def pyplot(prog):
    """matplotlib.pyplot on the Agg backend, or None after one error line naming the package."""
    try:
        import matplotlib
    except ImportError:
        print(f"{prog}: error: matplotlib is missing for {sys.executable} "
              "(apt-get install python3-matplotlib, or tools/install-deps)", file=sys.stderr)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt
