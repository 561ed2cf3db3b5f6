"""The app's Flask class: Flask's, with URLs built once per shape (``url_for``).

A board page builds two dozen URLs (stylesheets, scripts, navigation, the board's actions),
each through Werkzeug's rule builder: 4% of the page's CPU (py-spy under load). An internal
URL depends only on the endpoint, the values, the method and anchor, and the request's
URL adapter (script name, which ``TRUSTED_PROXIES`` may set per request, host, subdomain
and scheme), so a URL built once under those is kept and handed out again. External URLs,
calls outside a request, values that cannot be hashed and apps with ``url_defaults``
functions take Flask's way every time; a failed build raises as before and keeps nothing.
The URLs are kept in a :class:`~webapp.cache.Cache` of this process, one per app.
"""

from __future__ import annotations

from flask import Flask
from flask.globals import _cv_request  # what Flask's own url_for reads (Flask 3.1)

from webapp.cache import Cache

MEMO_SIZE = 4096  # URLs, the least recently used ones forgotten first


class PlaygroundApp(Flask):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._built_urls = Cache("urls", maxsize=MEMO_SIZE)

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values,
    ) -> str:
        context = _cv_request.get(None)
        adapter = context.url_adapter if context is not None else None
        if adapter is None or _external or _scheme is not None or self.url_default_functions:
            return super().url_for(
                endpoint,
                _anchor=_anchor,
                _method=_method,
                _scheme=_scheme,
                _external=_external,
                **values,
            )
        blueprint = context.request.blueprint if endpoint[:1] == "." else None
        # Types too: True == 1 and 1.0 == 1 as keys, but not as URLs.
        given = tuple((name, type(value), value) for name, value in values.items())
        key = (endpoint, blueprint, _anchor, _method, given, adapter.script_name,
               adapter.server_name, adapter.subdomain, adapter.url_scheme)  # fmt: skip
        try:
            url = self._built_urls.get(key)
        except TypeError:  # an unhashable value (a list of query values, say)
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, **values)
        if url is None:
            url = super().url_for(endpoint, _anchor=_anchor, _method=_method, **values)
            self._built_urls.put(key, url)
        return url
