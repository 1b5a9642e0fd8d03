"""Builds the optional compiled trigger path (``pyreverb._speedups``).

Everything else is in ``pyproject.toml``. The extension is optional: without a
C compiler, OpenSSL headers or Cython the install still succeeds and pyreverb
runs its pure-Python path (``pyreverb.speedups.native`` is then ``None``).
"""

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # no Cython at build time: pure Python
    extensions = []
else:
    extensions = cythonize(
        [Extension("pyreverb._speedups", ["pyreverb/_speedups.pyx"], libraries=["crypto"],
                   define_macros=[("OPENSSL_SUPPRESS_DEPRECATED", None)], optional=True)],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )

setup(ext_modules=extensions)
