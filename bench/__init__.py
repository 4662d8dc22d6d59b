"""The benchmarks of messagebus_django: ``python -m bench`` (see bench/README.md)."""
