"""The book pipeline: profiles, papermill execution, run records, the reported-vs-obtained report,
the Jupyter Book build (``build``) and its browser check."""
