"""Test PKI fixtures built with the project's own ``certs`` code (being built)."""
