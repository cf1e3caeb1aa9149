"""The Leadstroom dashboard: static files (glue/dashboard/static) and the small server that serves them."""
