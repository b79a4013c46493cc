"""Domain logic. Services take explicit arguments and never commit: the caller
(one request, or one claimed job item) owns the transaction."""
