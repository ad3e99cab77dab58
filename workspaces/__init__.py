"""The tenant: the Workspace model, the X-Workspace-ID middleware, the scoped QuerySet and base
viewset every app builds on, and change versions. Imports no domain app."""
