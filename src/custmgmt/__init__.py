"""custmgmt: customer management for e-commerce and service platforms."""

__version__ = "0.1.0"
