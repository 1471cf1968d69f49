"""The desk: the station's web application (docs/desk.md), on the top floor beside cli/.

`app.create_app` builds the ASGI application from a `context.DeskContext`; one router module per
page group (`session`, `home`, `requests`, `jobs`), each with its pages and its `/api/v1/` routes;
`auth` signs people in and checks roles and CSRF tokens on every route; `security` puts the
headers on every response. Pages are rendered on the server (Jinja2, `templates/`); `static/` holds
the desk's own CSS and script (nothing is loaded from outside). Every rule, price and file-set comes
from workflows/ and the repositories, exactly as for the CLI.
"""
