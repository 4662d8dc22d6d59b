"""The benchmark scenarios; each ``run(context)`` returns rows of the table."""
