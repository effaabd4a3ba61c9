"""The web console: review queue, event timelines, dead letters, costs and flags for people.

Mounted under ``/console`` by ``seamline serve``; see docs/console.md.
"""

from seamline.console._routes import install_console

__all__ = ["install_console"]
