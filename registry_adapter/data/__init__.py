"""Data files of the registry adapter (the manufacturer alias table)."""
