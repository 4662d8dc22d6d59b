"""Operations: metrics, the correlation-id middleware, logging, introspection
and the graceful stop of the long-running commands."""
