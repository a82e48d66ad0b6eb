"""The banner on every page of the book, naming the profile that built it.

``knexa book`` sets ``html.announcement`` of the generated ``_config.yml`` (:mod:`.config`) to
:func:`banner` of the profile (sphinx-book-theme shows it at the top of every page), so a smoke
build can never be mistaken for results.
"""
from __future__ import annotations

from knexa_core.errors import BuildError

BANNERS = {
    "smoke": "<strong>smoke</strong> profile: tiny sizes for the tests. <strong>Not a result</strong>: "
             "no number of this build is comparable with the paper's.",
    "cpu": "<strong>cpu</strong> profile: small experiments on a 2-core CPU; the paper's setting is the "
           "<code>paper</code> profile.",
    "cpu-full": "<strong>cpu-full</strong> profile: the cpu experiments with the paper's 20 rounds and more "
                "seeds on a 2-core CPU; the paper's setting is the <code>paper</code> profile.",
    "paper": "<strong>paper</strong> profile: the paper's setting.",
}


def banner(profile: str) -> str:
    """The banner's HTML for ``profile`` (an unknown name is a :class:`BuildError`)."""
    if profile not in BANNERS:
        raise BuildError(f"no banner for profile {profile!r}; known: {', '.join(BANNERS)}")
    return f"This book was built with the {BANNERS[profile]}"

