"""An app whose model's primary key defaults to ``uuid7``: what its migration says."""
