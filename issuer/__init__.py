"""cert-manager external issuer for AWS Private CA.

The package is the product: ``python -m issuer`` runs the controller. See
docs/architecture.md for the layers and the path of one request; each
subpackage's docstring says what it owns.
"""

__version__ = "0.1.0"
