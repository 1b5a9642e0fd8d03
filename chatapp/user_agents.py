"""The browser and operating system of a User-Agent header, read on the server.

The widget never says which browser it runs in: a name the page sent could be anything a
script on the host site wrote. The request's own ``User-Agent`` is read instead, with
ua-parser (the maintained Python port of the uap-core rules that Browserscope and Matomo
use), and reduced to what an agent reads at a glance: "Chrome 131", "iOS 17.1".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

__all__ = ["Platform", "platform_of", "MAX_USER_AGENT"]

MAX_USER_AGENT = 512  # longer headers are cut before parsing: real ones are far shorter

# uap-core's family names, as people say them.
_BROWSERS = {"HeadlessChrome": "Chrome", "Mobile Safari": "Safari", "Chrome Mobile": "Chrome",
             "Chrome Mobile iOS": "Chrome", "Firefox Mobile": "Firefox", "Firefox iOS": "Firefox",
             "Edge Mobile": "Edge", "Opera Mobile": "Opera", "Chrome Mobile WebView": "Android WebView"}
_SYSTEMS = {"Mac OS X": "macOS", "Ubuntu": "Linux", "Fedora": "Linux", "Debian": "Linux"}
_OS_MINOR = {"iOS", "macOS"}  # whose minor version tells something ("iOS 17.1"; "Android 14" is enough)


@dataclass(frozen=True)
class Platform:
    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None


@lru_cache(maxsize=512)
def _parse(header: str) -> Platform:
    found = parse(header)
    agent, system = found.user_agent, found.os
    browser = _BROWSERS.get(agent.family, agent.family) if agent and agent.family != "Other" else None
    name = _SYSTEMS.get(system.family, system.family) if system and system.family != "Other" else None
    os_version = None
    if system and name and system.major:
        os_version = f"{system.major}.{system.minor}" if name in _OS_MINOR and system.minor else system.major
    return Platform(browser, agent.major if browser and agent else None, name, os_version)


def platform_of(user_agent: str | None) -> Platform:
    """What ``user_agent`` says of the browser (family, major version) and the OS; None where it says nothing."""
    header = (user_agent or "").strip()[:MAX_USER_AGENT]
    if not header:
        return Platform(None, None, None, None)
    return _parse(header)
