"""The package version (its own module, so the package's modules can read it without importing
the package's public names)."""

__version__ = "0.1.0"
