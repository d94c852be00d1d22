"""Rendering the Jinja templates shipped in ``templates/``: one environment per template group.

Templates only loop and substitute a typed context (DESIGN.md); the environment is strict
(an undefined name is an error, not an empty string) so a context that lost a field fails the
build instead of emitting broken C. HTML templates are autoescaped, C and linker templates not.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from tinykit.resources import templates_dir


@cache
def environment(group: str) -> jinja2.Environment:
    """The environment of ``templates/<group>`` (cached: templates are compiled once per process)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir(group))),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=False, default=False),
    )


def render_template(group: str, name: str, **context: Any) -> str:
    """Text of ``templates/<group>/<name>`` rendered with ``context``."""
    return environment(group).get_template(name).render(**context)
