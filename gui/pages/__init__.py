"""The wizard pages, one module per ``PageId``."""
