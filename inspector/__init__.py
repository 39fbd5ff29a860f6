"""mm-inspector: watch the Linux buddy allocator being born inside real kernels."""

__version__ = "0.1.0"
