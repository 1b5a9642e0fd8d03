"""HTTP handlers: thin functions that parse a request, call a service, shape JSON."""
