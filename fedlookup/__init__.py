"""fedlookup: the shared kernel of the product (version and the one error tree).

Every other package (``registry_adapter``, ``federation``, ``certs``, ``audit``, ``node``)
raises errors from :mod:`fedlookup.errors`, so a caller catches one family whatever layer
failed::

    >>> import fedlookup
    >>> fedlookup.__version__
    '0.1.0'
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fedlookup")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
