"""HTTP: routes and middlewares, thin; the logic lives in pipeline and below."""
