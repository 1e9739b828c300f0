"""What the API, the pages behind links in mail and the web pages share over HTTP: request
dependencies, middleware (headers, body size, request ids and metrics, rate limits), problem
details, and the file responses (calendar, PDF, CSV)."""
