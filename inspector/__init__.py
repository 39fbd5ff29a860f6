"""mm-inspector: watch the Linux buddy allocator being born inside real kernels."""

from importlib.metadata import PackageNotFoundError, version

try:  # one version: the package metadata's (pyproject.toml)
    __version__ = version("mm-inspector")
except PackageNotFoundError:  # a checkout run without installing it
    __version__ = "0+checkout"
