"""A package whose sub-module fails to import; scanned by one test only."""
