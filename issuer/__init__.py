"""cert-manager external issuer for AWS Private CA.

The package is the product: ``python -m issuer`` runs the controller. See
DESIGN.md for the layout; each subpackage's docstring says what it owns.
"""

__version__ = "0.1.0"
