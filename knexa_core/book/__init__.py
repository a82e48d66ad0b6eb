"""The book pipeline: profiles, parameter checks (``parameters``), papermill execution
(``notebooks``), one chapter at a time (``run``: ``knexa run``), prose with computed numbers
(``prose``), run records, the reported-vs-obtained report, the profile banner and the
repository link in the generated ``_config.yml`` (``config``, ``repository``), the build
(``build``: ``knexa book``) and its browser check, and ``strip`` (``make strip``)."""
