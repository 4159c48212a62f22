"""Server-rendered pages (Jinja), a top layer beside caseapp.api: views call services and render."""
