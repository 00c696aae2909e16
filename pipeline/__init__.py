"""frstance: where the news stands on regulating facial recognition."""

__version__ = "0.1.0"
