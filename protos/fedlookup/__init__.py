"""Generated code for the ``fedlookup`` protocol packages."""
